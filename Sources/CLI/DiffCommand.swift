import ArgumentParser
import OutputFile
import Pprof
import ProfileReports

struct Diff: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "diff",
    abstract: "Print the functions whose flat (or cum) value changed most between two profiles.",
    discussion: """
      Changes are raw differences NEW - BASE, as go tool pprof -diff_base shows \
      them, with the change relative to BASE. For a picture, draw a differential \
      flame graph: prof flame --base BASE NEW.

      Examples:
        prof diff before.pb.gz after.pb.gz
        prof diff -n 10 --cum before.pb.gz after.pb.gz
      """
  )

  @Argument(help: "The profile to compare against.")
  var base: String

  @Argument(help: "The profile to compare.")
  var new: String

  @OptionGroup var ranking: RankingOptions

  @OptionGroup var samples: SampleOptions

  func run() throws {
    let newProfile = try ProfileInput.load(new)
    let newSide = try totals(newProfile, sampleType: samples.sampleIndex)
    // The base is read with the same sample type, by name, as the new profile.
    let type = newProfile.sampleTypes[newSide.valueIndex]
    let baseSide = try totals(ProfileInput.load(base), sampleType: type.type)
    SampleOptions.warnUnmatched([baseSide.filter, newSide.filter])
    let report = DiffReport(base: (baseSide.totals, baseSide.stacks), new: (newSide.totals, newSide.stacks),
                            count: ranking.n, sortByCum: ranking.cum)
    try StandardStream.output.write(report.render(header: ["Type: " + type.type], format: report.valueFormat(sampleUnit: type.unit)))
  }

  private func totals(_ profile: Profile, sampleType: String?)
    throws -> (totals: FunctionTotals, stacks: CallStacks, valueIndex: Int, filter: SampleFilter) {
    let stacks = CallStacks(profile)
    let filter = try samples.filter(stacks)
    let valueIndex = try SampleTypeChoice.index(in: profile, named: sampleType)
    return (FunctionTotals(profile, stacks, valueIndex: valueIndex, filter: filter), stacks, valueIndex, filter)
  }
}
