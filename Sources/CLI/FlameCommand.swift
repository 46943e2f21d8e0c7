import ArgumentParser
import FlameGraph
import OutputFile
import Pprof
import ProfileReports
import TargetLaunch

struct Flame: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "flame",
    abstract: "Draw an interactive SVG flame graph of a pprof profile.",
    discussion: """
      Open the SVG in any browser: hover a frame for its value and share, click to \
      zoom into it, Search to highlight functions matching a regular expression.

      With --base, a differential graph of FILE against BASE: frames are FILE's \
      stacks, red where they grew and blue where they shrank; BASE is scaled to \
      FILE's total first, so a longer run does not make everything red.

      Examples:
        prof flame cpu.pb.gz -o cpu.svg
        prof flame --by-thread --icicle cpu.pb.gz
        prof flame --base before.pb.gz after.pb.gz -o diff.svg
      """
  )

  @Argument(help: "The pprof profile to draw.")
  var file: String

  @Option(name: .shortAndLong, help: "Where to write the SVG.")
  var output = "flame.svg"

  @Flag(help: "Draw roots at the top and callees below (an icicle graph).")
  var icicle = false

  @Flag(name: .customLong("by-thread"), help: "One track per thread (the thread_comm label).")
  var byThread = false

  @Option(help: ArgumentHelp("A profile to compare against: colour frames by change.", valueName: "file"))
  var base: String?

  @Option(help: "The graph's title.")
  var title: String?

  @OptionGroup var samples: SampleOptions

  func run() throws {
    let outputFile = try AtomicOutputFile(path: output)
    let profile = try ProfileInput.load(file)
    let stacks = CallStacks(profile)
    let (valueIndex, filter) = try samples.select(profile, stacks, warningUnmatched: base == nil)
    var tracks = self.tracks(profile, stacks, valueIndex, filter)
    if let base {
      let baseProfile = try ProfileInput.load(base), baseStacks = CallStacks(baseProfile)
      let baseFilter = try samples.filter(baseStacks)
      SampleOptions.warnUnmatched([filter, baseFilter])
      tracks = try differential(tracks, base: (baseProfile, baseStacks, baseFilter), type: profile.sampleTypes[valueIndex].type)
    }
    var options = FlameGraph.Options()
    options.icicle = icicle
    options.title = title ?? (base == nil ? "Flame Graph" : "Differential Flame Graph") + ": " + file
    options.format = Self.titleFormat(profile.sampleTypes[valueIndex])
    try outputFile.commit(Array(FlameGraph(tracks: tracks, options: options).svg().utf8))
    warn("wrote \(output)")
  }

  private func tracks(_ profile: Profile, _ stacks: CallStacks, _ valueIndex: Int, _ filter: SampleFilter) -> [FlameGraph.Track] {
    guard byThread else {
      return [FlameGraph.Track(label: "all", tree: CallTree(profile, stacks, valueIndex: valueIndex, filter: filter))]
    }
    return CallTree.grouped(profile, stacks, valueIndex: valueIndex, filter: filter, byLabel: "thread_comm",
                            missing: "(no thread label)")
      .map { FlameGraph.Track(label: "thread " + $0.label, tree: $0.tree) }
  }

  /// Each track gets the base's values of the same paths, scaled to the track's total.
  private func differential(_ tracks: [FlameGraph.Track], base: (profile: Profile, stacks: CallStacks, filter: SampleFilter),
                            type: String) throws -> [FlameGraph.Track] {
    let valueIndex = try SampleTypeChoice.index(in: base.profile, named: type)
    let baseTracks = Dictionary(self.tracks(base.profile, base.stacks, valueIndex, base.filter).map { ($0.label, $0.tree) },
                                uniquingKeysWith: { first, _ in first })
    return tracks.map { track in
      var track = track
      let baseTree = baseTracks[track.label] ?? CallTree(functions: [])
      let ratio = baseTree.root.total == 0 ? 0 : Double(track.tree.root.total) / Double(baseTree.root.total)
      track.baseValues = track.tree.totals(ofSamePathsIn: baseTree).map { Double($0) * ratio }
      return track
    }
  }

  /// "1.20s", "3MB", or for counts "12 samples" (the sample type's name).
  private static func titleFormat(_ type: ValueType) -> (Int64) -> String {
    let format = ValueFormat(autoScaling: type.unit)
    guard format.hasUnit else { return { value in "\(value) \(type.type)" } }
    return { value in format.format(value) }
  }
}
