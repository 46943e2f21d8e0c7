import ArgumentParser
import Foundation
import OutputFile
import Pprof
import ProfileConversion
import ProfileReports

struct Convert: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "convert",
    abstract: "Convert a profile to folded stacks, speedscope JSON, or (from folded stacks) pprof.",
    discussion: """
      FILE is a pprof profile or a file of folded stacks ("main;work;leaf 42" per line). \
      Folded output has one line per distinct stack with an integer count; ';' and \
      newlines inside names become ':' and ' '. speedscope output has one profile per \
      thread when the profile has thread_comm labels.

      Examples:
        prof convert cpu.pb.gz --to folded > cpu.folded
        prof convert cpu.pb.gz --to speedscope -o cpu.speedscope.json
        prof convert cpu.folded --to pprof -o cpu.pb.gz
      """
  )

  enum Format: String, ExpressibleByArgument, CaseIterable {
    case folded, speedscope, pprof
  }

  @Argument(help: "The profile to convert: pprof, or folded stacks.")
  var file: String

  @Option(help: "The output format.")
  var to: Format

  @Option(name: .shortAndLong, help: "Where to write (default: standard output, except for pprof: required).")
  var output: String?

  @OptionGroup var samples: SampleOptions

  func validate() throws {
    if to == .pprof && output == nil { throw ValidationError("--to pprof writes a binary file: give -o FILE") }
  }

  func run() throws {
    let outputFile = try output.map { path throws in try AtomicOutputFile(path: path) }
    let profile = try ProfileInput.loadPprofOrFolded(file)
    let bytes: [UInt8]
    switch to {
    case .pprof: bytes = profile.gzipped()
    case .folded: bytes = Array(FoldedStacks.write(try tree(profile)).utf8)
    case .speedscope: bytes = try speedscope(profile)
    }
    if let outputFile { try outputFile.commit(bytes) } else { try StandardStream.output.write(bytes) }
  }

  /// Folded stacks count samples: without --sample-index, the "samples" type when there is one.
  private func tree(_ profile: Profile) throws -> CallTree {
    let stacks = CallStacks(profile)
    var samples = self.samples
    if samples.sampleIndex == nil && profile.sampleTypes.contains(where: { $0.type == "samples" }) { samples.sampleIndex = "samples" }
    let (valueIndex, filter) = try samples.select(profile, stacks)
    return CallTree(profile, stacks, valueIndex: valueIndex, filter: filter)
  }

  private func speedscope(_ profile: Profile) throws -> [UInt8] {
    let stacks = CallStacks(profile)
    let (valueIndex, filter) = try samples.select(profile, stacks)
    let hasThreads = profile.samples.contains { $0.labels.contains { $0.key == "thread_comm" } }
    let tracks = hasThreads
      ? CallTree.grouped(profile, stacks, valueIndex: valueIndex, filter: filter, byLabel: "thread_comm", missing: "(no thread label)")
      : [("all", CallTree(profile, stacks, valueIndex: valueIndex, filter: filter))]
    let file = Speedscope.file(name: (self.file as NSString).lastPathComponent, unit: profile.sampleTypes[valueIndex].unit,
                               functions: stacks.functions, tracks: tracks)
    return Array(try Speedscope.json(file))
  }
}
