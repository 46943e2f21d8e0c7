import ArgumentParser
import CPUProfiling
import ChromeTrace
import Foundation
import OutputFile
import Pprof
import Recording
import Symbolization
import TargetLaunch

extension Trace {
  /// One stream, two sinks: the timeline for the trace, the samples for the modules and --pprof.
  typealias Sinks = SinkPair<TimelineCollector, CPUSampleCollector>

  func run() throws {
    if let pid { return try runAttached(pid) }
    let traceFile = try AtomicOutputFile(path: output)
    let profileFile = try pprof.map { try AtomicOutputFile(path: $0) }
    var settings = [AgentEnvironment.hz.name: String(hz), AgentEnvironment.clock.name: mode.rawValue,
                    AgentEnvironment.trace.name: "1", AgentEnvironment.signal.name: String(signal.number)]
      .merging(asyncStacks.settings) { $1 }
    if heap { settings[AgentEnvironment.heapRate.name] = String(Heap.defaultSampleRate) }
    if lockWaitNanos > 0 { settings[AgentEnvironment.lockWaitNanos.name] = String(lockWaitNanos) }
    let command = try target.resolve()
    let session = try RecordingSession.launch(command, settings: settings, timeLimitNanos: duration?.nanoseconds,
                                              followChildren: followChildren)
    var sinks = Sinks(TimelineCollector(), CPUSampleCollector())
    let symbolizer = symbols.symbolizer()
    session.record(into: &sinks, symbolizingEarly: symbolizer)
    var symbolization = SymbolizationWarnings()
    func traced(_ sinks: Sinks, name: String, end: UInt64) -> ChromeTraceBuilder.Process {
      let (frames, warnings) = SymbolizedStacks.resolve(sinks.first.stacks, asyncChains: sinks.first.asyncChains, modules: sinks.second.modules, symbolizer: symbolizer)
      symbolization.say(warnings)
      return ChromeTraceBuilder.Process(timeline: sinks.first, frames: frames, name: name, endMonotonicNanos: end)
    }
    var processes = [traced(sinks, name: command.arguments.joined(separator: " "), end: session.finishedNanos)]
    for child in try session.children({ Sinks(TimelineCollector(), CPUSampleCollector()) }) {
      let program = child.sink.second.modules.first.map { URL(fileURLWithPath: $0.path).lastPathComponent } ?? "child"
      let end = (child.start?.monotonicNanos ?? 0) + UInt64(child.durationNanos)
      processes.append(traced(child.sink, name: "\(program) (child \(child.name))", end: end))
    }
    try write(processes, samples: sinks.second, durationNanos: session.durationNanos, traceFile: traceFile,
              profileFile: profileFile, symbolizer: symbolizer, comment: "prof trace " + target.command.joined(separator: " "))
    let status = session.finish()
    sinks.second.signalWarnings(hz: hz, signal: signal).forEach { warn($0) }
    let (timeline, threads) = (sinks.first, sinks.first.ticks.count)
    let ticks = timeline.ticks.values.map(\.count).reduce(0, +)
    let others = processes.count > 1 ? " (and \(processes.count - 1) child processes)" : ""
    let threshold = GoDuration(nanoseconds: lockWaitNanos)
    let waits = lockWaitNanos > 0 ? ", \(timeline.lockWaits.count) lock waits of \(threshold) or more" : ""
    warn("\(ticks) samples from \(threads) threads\(others), \(timeline.events.count) user events\(waits); wrote \(output)"
         + (pprof.map { " and \($0)" } ?? "") + "; open it in https://ui.perfetto.dev")
    try status.passThrough()
  }

  /// The trace, and with --pprof the profile, of what was recorded.
  private func write(_ processes: [ChromeTraceBuilder.Process], samples: CPUSampleCollector, durationNanos: Int64,
                     traceFile: AtomicOutputFile, profileFile: AtomicOutputFile?, symbolizer: Symbolizer?,
                     comment: String) throws {
    let options = ChromeTraceBuilder.Options(mode: mode == .wall ? .wall : .cpu, hz: hz, maximumBytes: maxSize)
    let (json, notes) = ChromeTraceBuilder(processes: processes, options: options).build()
    notes.forEach { warn($0) }
    try traceFile.commit(output.hasSuffix(".gz") ? Gzip.compress(json) : json)
    if let profileFile {
      let (profile, _) = CPUProfile.build(from: samples, hz: hz, clock: mode == .wall ? .wall : .cpu,
                                          durationNanos: durationNanos, symbolizer: symbolizer, comments: [comment])
      try profileFile.commit(profile.gzipped())
    }
  }

  /// `--pid`: a window of a running process, traced by its dormant agent.
  private func runAttached(_ pid: Int32) throws {
    try target.requireNone()
    guard mode == .cpu, !heap, !followChildren, signal == .profiling, lockWaitThreshold == nil else {
      throw ValidationError("--pid traces in cpu mode with SIGPROF: --mode wall, --heap, --follow-children, --signal and --lock-wait-threshold need prof trace -- COMMAND")
    }
    let traceFile = try AtomicOutputFile(path: output)
    let profileFile = try pprof.map { try AtomicOutputFile(path: $0) }
    var sinks = Sinks(TimelineCollector(), CPUSampleCollector())
    let window = try AttachedWindow.record(pid: pid, request: "trace hz=\(hz) \(asyncStacks.request)", duration: duration ?? Seconds(1), into: &sinks)
    let symbolizer = symbols.symbolizer()
    let (frames, warnings) = SymbolizedStacks.resolve(sinks.first.stacks, modules: sinks.second.modules, symbolizer: symbolizer)
    var symbolization = SymbolizationWarnings()
    symbolization.say(warnings)
    let process = ChromeTraceBuilder.Process(timeline: sinks.first, frames: frames, name: "process \(pid)",
                                             endMonotonicNanos: window.finishedNanos)
    try write([process], samples: sinks.second, durationNanos: window.durationNanos, traceFile: traceFile,
              profileFile: profileFile, symbolizer: symbolizer, comment: "prof trace --pid \(pid)")
    sinks.second.signalWarnings(hz: hz, signal: signal, attachedBy: "trace").forEach { warn($0) }
    let ticks = sinks.first.ticks.values.map(\.count).reduce(0, +)
    warn("\(ticks) samples from \(sinks.first.ticks.count) threads, \(sinks.first.events.count) user events; wrote \(output)"
         + (pprof.map { " and \($0)" } ?? "") + "; open it in https://ui.perfetto.dev")
  }
}
