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
    let traceFile = try AtomicOutputFile(path: output)
    let profileFile = try pprof.map { try AtomicOutputFile(path: $0) }
    var settings = [AgentEnvironment.hz.name: String(hz), AgentEnvironment.clock.name: mode.rawValue,
                    AgentEnvironment.trace.name: "1", AgentEnvironment.signal.name: String(signal.number)]
      .merging(asyncStacks.settings) { $1 }
    if heap { settings[AgentEnvironment.heapRate.name] = String(Heap.defaultSampleRate) }
    let command = try target.resolve()
    let session = try RecordingSession.launch(command, settings: settings, timeLimitNanos: duration?.nanoseconds,
                                              followChildren: followChildren)
    var sinks = Sinks(TimelineCollector(), CPUSampleCollector())
    session.record(into: &sinks)
    let symbolizer = symbols.symbolizer()
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
    let options = ChromeTraceBuilder.Options(mode: mode == .wall ? .wall : .cpu, hz: hz, maximumBytes: maxSize)
    let (json, notes) = ChromeTraceBuilder(processes: processes, options: options).build()
    notes.forEach { warn($0) }
    try traceFile.commit(output.hasSuffix(".gz") ? Gzip.compress(json) : json)
    if let profileFile {
      let (profile, _) = CPUProfile.build(from: sinks.second, hz: hz, clock: mode == .wall ? .wall : .cpu,
                                          durationNanos: session.durationNanos, symbolizer: symbolizer,
                                          comments: ["prof trace " + target.command.joined(separator: " ")])
      try profileFile.commit(profile.gzipped())
    }
    let status = session.finish()
    sinks.second.signalWarnings(hz: hz, signal: signal).forEach { warn($0) }
    let (timeline, threads) = (sinks.first, sinks.first.ticks.count)
    let ticks = timeline.ticks.values.map(\.count).reduce(0, +)
    let others = processes.count > 1 ? " (and \(processes.count - 1) child processes)" : ""
    warn("\(ticks) samples from \(threads) threads\(others), \(timeline.events.count) user events; wrote \(output)"
         + (pprof.map { " and \($0)" } ?? "") + "; open it in https://ui.perfetto.dev")
    try status.passThrough()
  }
}
