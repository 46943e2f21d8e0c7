import ArgumentParser
import Foundation
import ProfileReports

struct List: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list",
    abstract: "Print the source of matching functions with per-line values, like go tool pprof -list.",
    discussion: """
      REGEX is matched against function (demangled) and file names. Source files are \
      read from the paths in the profile; when one is missing, only the sampled line \
      numbers are printed.

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
    print(listing.render(format: ValueFormat(autoScaling: profile.sampleTypes[valueIndex].unit)) { path in
      SourcePath.lines(of: path, workingDirectory: workingDirectory) { try? String(contentsOfFile: $0, encoding: .utf8) }
    }, terminator: "")
  }
}
