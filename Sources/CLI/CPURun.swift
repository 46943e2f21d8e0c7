import ArgumentParser
import CPUProfiling
import Dispatch
import Foundation
import OutputFile
import Pprof
import Recording
import Symbolization
import TargetLaunch

extension CPU {
  func run() throws {
    if let pid { return try runAttached(pid) }
    let file = try AtomicOutputFile(path: output)
    let settings = [AgentEnvironment.hz.name: String(hz), AgentEnvironment.unwind.name: unwind.rawValue,
                    AgentEnvironment.signal.name: String(signal.number)].merging(recording.asyncStacks.settings) { $1 }
    let command = try recording.target.resolve()
    let session = try RecordingSession.launch(command, settings: settings, timeLimitNanos: duration?.nanoseconds,
                                              followChildren: recording.children.followChildren)
    let symbolizer = recording.symbols.symbolizer()
    let build = profileBuilder(symbolizer: symbolizer)
    var collector = CPUSampleCollector()
    session.record(into: &collector, checkpoints: recording.checkpoint.checkpoints(of: output, queue: DispatchQueue(label: "prof.checkpoints")) {
      build($0, $1).profile.gzipped()
    }, symbolizingEarly: symbolizer)
    var symbolization = SymbolizationWarnings()
    let (profile, warnings) = build(collector, session.durationNanos)
    symbolization.say(warnings)
    let missing = collector.stats.samples > collector.totals.samples ? collector.stats.samples - collector.totals.samples : 0
    let status = try session.writeAndFinish(profile, to: file, lastProgram: collector.modules.first?.path ?? command.path,
                                            lost: "samples (\(missing) counted)")
    collector.signalWarnings(hz: hz, signal: signal).forEach { warn($0) }
    if unwind == .fp {
      let stacks = collector.stacks.map { ($0.key.frames, $0.value.samples) }
      FramePointerCheck.warnings(stacks, modules: collector.modules).forEach { warn($0) }
    }
    printSummary(collector, program: session.program)
    try ChildProfiles(options: recording.children).write(session.children(CPUSampleCollector.init), beside: output, parent: profile,
                                               pid: session.program.pid, build: build, symbolization: &symbolization) { child, _ in
      [sampled(child)] + child.signalWarnings(hz: hz, signal: signal)
    }
    try status.passThrough()
  }

  /// `--pid`: a window of a running process; its control channel takes only SIGPROF.
  private func runAttached(_ pid: Int32) throws {
    try recording.target.requireNone()
    guard signal == .profiling else { throw ValidationError("--signal cannot be used with --pid: an attached agent samples with SIGPROF") }
    let file = try AtomicOutputFile(path: output)
    var collector = CPUSampleCollector()
    let window = try AttachedWindow.record(pid: pid, request: "cpu hz=\(hz) unwind=\(unwind.rawValue) \(recording.asyncStacks.request)",
                                           duration: duration ?? Seconds(30), into: &collector)
    let (profile, warnings) = profileBuilder(symbolizer: recording.symbols.symbolizer(), comment: "prof cpu --pid \(pid)")(collector, window.durationNanos)
    var symbolization = SymbolizationWarnings()
    symbolization.say(warnings)
    try file.commit(profile.gzipped())
    collector.signalWarnings(hz: hz, signal: signal, attachedBy: "cpu").forEach { warn($0) }
    printSummary(collector, program: nil)
  }

  /// Builds a profile from a collector and its duration, with what could not be
  /// symbolized; checkpoints and the final write share it, one at a time.
  private func profileBuilder(symbolizer: Symbolizer?, comment: String? = nil) -> (CPUSampleCollector, Int64) -> (profile: Profile, warnings: [String]) {
    let comments = [comment ?? "prof cpu " + recording.target.command.joined(separator: " ")]
    return { [hz] collector, durationNanos in
      CPUProfile.build(from: collector, hz: hz, durationNanos: durationNanos, symbolizer: symbolizer, comments: comments)
    }
  }

  /// `program`: the one prof ran, whose CPU time it knows; nil when attached.
  private func printSummary(_ collector: CPUSampleCollector, program: RecordedProgram?) {
    let totals = collector.totals
    let used = program?.cpuNanos.map { String(format: " of %.2f s used", Double($0) / 1e9) } ?? ""
    // Shown when it is at least a tick of the kernel's accounting (10 ms).
    let childrenWhere = recording.children.followChildren ? "in their own profiles" : "not profiled: --follow-children profiles them"
    let children = program?.childrenCPUNanos.flatMap {
      $0 < 10_000_000 ? nil : String(format: " (its child processes used %.2f s more, ", Double($0) / 1e9) + childrenWhere + ")"
    } ?? ""
    if totals.periods > totals.samples * 3 / 2 {
      warn("the kernel delivered fewer than --hz \(hz) timer signals per thread; each sample counts the periods it covers")
    }
    warn("\(sampled(collector))\(used)\(children); wrote \(output); view: go tool pprof -http=: \(output)")
  }

  /// "S samples (D dropped) from T threads, C s CPU sampled"
  private func sampled(_ collector: CPUSampleCollector) -> String {
    let totals = collector.totals
    let seconds = String(format: "%.2f", Double(totals.periods) / Double(hz))
    let threads = Set(collector.stacks.keys.map(\.tid)).count
    return "\(totals.samples) samples (\(collector.stats.dropped) dropped) from \(threads) threads, \(seconds) s CPU sampled"
  }
}
