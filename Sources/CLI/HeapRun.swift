import Dispatch
import HeapProfiling
import OutputFile
import Pprof
import Recording
import Symbolization
import TargetLaunch

extension Heap {
  func run() throws {
    if let pid { return try runAttached(pid) }
    let file = try AtomicOutputFile(path: output)
    let settings = [AgentEnvironment.heapRate.name: String(sampleRate), AgentEnvironment.unwind.name: unwind.rawValue]
      .merging(recording.asyncStacks.settings) { $1 }
    let command = try recording.target.resolve()
    let session = try RecordingSession.launch(command, settings: settings, followChildren: recording.children.followChildren)
    let symbolizer = recording.symbols.symbolizer()
    let build = profileBuilder(symbolizer: symbolizer)
    let render: Checkpoints<HeapCollector>.Render = { build($0, $1).profile.gzipped() }
    let writes = DispatchQueue(label: "prof.heap.writes")  // one at a time: they share the symbolizer
    let snapshots = snapshotEvery.map {
      Checkpoints(every: $0.nanoseconds, what: "snapshot", queue: writes, path: { [output] in numbered(output, $0) }, render: render)
    }
    var collector = HeapCollector()
    session.record(into: &collector, checkpoints: recording.checkpoint.checkpoints(of: output, queue: writes, render: render) + (snapshots.map { [$0] } ?? []),
                   symbolizingEarly: symbolizer)
    var symbolization = SymbolizationWarnings()
    let (profile, warnings) = build(collector, session.durationNanos)
    symbolization.say(warnings)
    if let warning = collector.undefinedBucketsWarning { warn(warning) }
    if unwind == .fp {
      let stacks = collector.counts.compactMap { id, counts in collector.buckets[id].map { ($0.frames, counts.allocObjects) } }
      FramePointerCheck.warnings(stacks, modules: collector.modules).forEach { warn($0) }
    }
    let status = try session.writeAndFinish(profile, to: file, lastProgram: collector.modules.first?.path ?? command.path,
                                            lost: "allocations")
    HeapSummary.lines(collector, profile).forEach(warn)
    try ChildProfiles(options: recording.children).write(session.children(HeapCollector.init), beside: output, parent: profile,
                                               pid: session.program.pid, build: build, symbolization: &symbolization) {
      HeapSummary.lines($0, $1, topLeaks: 0)
    }
    let snapshotsWritten = snapshots?.written ?? 0
    warn("wrote \(output)\(snapshotsWritten > 0 ? " and \(snapshotsWritten) snapshots" : ""); view: go tool pprof -http=: \(output)")
    try status.passThrough()
  }

  /// `--pid`: the running program's heap, from its agent's tables; its rate is the
  /// one `prof run --heap-rate` gave it.
  private func runAttached(_ pid: Int32) throws {
    try recording.target.requireNone()
    let file = try AtomicOutputFile(path: output)
    var collector = HeapCollector()
    _ = try AttachedWindow.record(pid: pid, request: "heap", duration: nil, into: &collector)
    let (profile, warnings) = profileBuilder(symbolizer: recording.symbols.symbolizer(), comment: "prof heap --pid \(pid)")(collector, 0)
    var symbolization = SymbolizationWarnings()
    symbolization.say(warnings)
    try file.commit(profile.gzipped())
    HeapSummary.lines(collector, profile, moment: "now").forEach(warn)
    warn("wrote \(output); view: go tool pprof -http=: \(output)")
  }

  /// Builds a profile from a collector and its duration, with what could not be
  /// symbolized; checkpoints, snapshots and the final write share it, one at a time.
  private func profileBuilder(symbolizer: Symbolizer?, comment: String? = nil) -> (HeapCollector, Int64) -> (profile: Profile, warnings: [String]) {
    let comments = [comment ?? "prof heap " + recording.target.command.joined(separator: " ")]
    return { collector, durationNanos in
      HeapProfile.build(from: collector, durationNanos: durationNanos, symbolizer: symbolizer, comments: comments)
    }
  }
}
