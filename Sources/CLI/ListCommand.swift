import ArgumentParser
import Foundation
import OutputFile
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
    let smallest = listing.routines.flatMap { $0.lines.values.map { abs($0.flat != 0 ? $0.flat : $0.cum) } }.filter { $0 > 0 }.min() ?? 0
    let format = ValueFormat(sampleUnit: profile.sampleTypes[valueIndex].unit, smallest: smallest, largest: listing.total)
    try StandardStream.output.write(listing.render(format: format) { path in
      (try? String(contentsOfFile: path, encoding: .utf8)).map { $0.components(separatedBy: "\n") }
    })
  }
}
