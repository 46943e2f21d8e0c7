import ArgumentParser
import Foundation
import OutputFile
import ProfileReports

struct List: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list",
    abstract: "Print the source of matching functions with per-line values, like go tool pprof -list.",
    discussion: """
      REGEX (RE2 syntax, as go tool pprof's) is matched against function names \
      (demangled). The output is go tool pprof -list's: one routine per function and \
      source file, sources found as pprof finds them (relative paths in the current \
      directory and its parents); a missing file is one error line.

      Examples:
        prof list 'hotLoop' cpu.pb.gz
        prof list 'MyApp\\.Parser\\.' --sample-index alloc_space heap.pb.gz
      """
  )

  @Argument(help: "A regular expression selecting functions.")
  var regex: String

  @Argument(help: "The pprof profile to read.")
  var file: String

  @OptionGroup var samples: SampleOptions

  func run() throws {
    let profile = try ProfileInput.load(file)
    let stacks = CallStacks(profile)
    let (valueIndex, filter) = try samples.select(profile, stacks)
    let listing = SourceListing(profile, stacks, valueIndex: valueIndex, filter: filter, matching: try FunctionMatcher(regex))
    guard !listing.routines.isEmpty else { throw ProfError("\(file): \(ReportError.noMatch(regex))") }
    let workingDirectory = FileManager.default.currentDirectoryPath
    try StandardStream.output.write(listing.render(format: ValueFormat(autoScaling: profile.sampleTypes[valueIndex].unit)) { path in
      SourcePath.lines(of: path, workingDirectory: workingDirectory) { try? String(contentsOfFile: $0, encoding: .utf8) }
    })
  }
}
