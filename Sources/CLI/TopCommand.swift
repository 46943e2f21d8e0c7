import ArgumentParser
import OutputFile
import ProfileReports

struct Top: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "top",
    abstract: "Print the functions with the most samples, like go tool pprof -top.",
    discussion: """
      Reads any pprof file (prof's, Go's, Pyroscope's; gzipped or not). flat is the \
      value of samples whose leaf is the function, cum of samples with the function \
      anywhere on the stack. Functions under 0.5% cum are dropped, as pprof does.

      Examples:
        prof top cpu.pb.gz
        prof top -n 20 --cum cpu.pb.gz
        prof top --sample-index alloc_space --focus 'MyApp\\.' heap.pb.gz
      """
  )

  @Argument(help: "The pprof profile to read.")
  var file: String

  @OptionGroup var ranking: RankingOptions

  @OptionGroup var samples: SampleOptions

  func run() throws {
    let profile = try ProfileInput.load(file)
    let stacks = CallStacks(profile)
    let (valueIndex, filter) = try samples.select(profile, stacks)
    let report = TopReport(profile, stacks, valueIndex: valueIndex, filter: filter,
                           options: TopReport.Options(count: ranking.n, sortByCum: ranking.cum))
    let format = report.valueFormat(sampleUnit: profile.sampleTypes[valueIndex].unit)
    let header = ProfileHeader.lines(profile, valueIndex: valueIndex, total: report.total, format: format) + samples.activeFilters
    try StandardStream.output.write(report.render(header: header, format: format))
  }
}
