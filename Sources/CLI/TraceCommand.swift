import AgentStream
import ArgumentParser
import CPUProfiling
import ChromeTrace
import Foundation
import OutputFile
import Pprof
import Symbolization
import TargetLaunch

struct Trace: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "trace",
    abstract: "Record what each thread did over time; write a Chrome trace for Perfetto.",
    discussion: """
      Runs COMMAND with prof's agent preloaded and samples its threads with \
      timestamps. Each thread's track reads like a flame chart over time; spans, \
      instants, counters and flows recorded with the ProfTrace library appear on a \
      spans track beside it; the process's RSS (and with --heap, heap bytes in use) \
      are counters. Open the file in \
      https://ui.perfetto.dev or chrome://tracing.

      --mode cpu samples each thread by its CPU time (only running code shows up). \
      --mode wall samples every thread at a wall-clock rate, blocked ones too, and \
      adds a state track per thread (Running / Off-CPU; Unsampled where a thread that \
      blocks the sampling signal ran), without waking idle threads.

      prof exits with the program's exit status (128+N if a signal N killed it).

      Examples:
        prof trace -- .build/release/myserver --port 8080
        prof trace --mode wall --hz 200 -o server.json.gz -- .build/release/myserver
        prof trace --pprof cpu.pb.gz -- ./batch-job input.csv
        prof trace --follow-children -- ./run-workers.sh
        prof trace --pid 4242 --duration 5   # a program started with prof run or LD_PRELOAD=$(prof agent)
      """
  )

  @Option(name: .shortAndLong, help: "Where to write the trace; gzipped when the name ends in .gz.")
  var output = "trace.json"

  @Option(parsing: .unconditional, help: "Samples per second per thread (1-5000).")
  var hz = 100

  @Option(help: "cpu: sample by each thread's CPU time. wall: sample every thread at a wall-clock rate.")
  var mode: Mode = .cpu

  @Option(help: ArgumentHelp("Also write the run's profile (pprof) to this path.", valueName: "path"))
  var pprof: String?

  @Option(parsing: .unconditional, help: ArgumentHelp("Stop sampling after this many seconds, write the trace, then send the program SIGINT.",
                             valueName: "seconds"))
  var duration: Seconds?

  @Option(parsing: .unconditional, help: ArgumentHelp("Leave out events past this size of trace, with a note in the trace.", valueName: "bytes"))
  var maxSize: Int?

  @Option(help: ArgumentHelp("Attach to this running process, started with `prof run` or LD_PRELOAD=$(prof agent), instead of running COMMAND: trace it for --duration (default 1 s) and leave it running. CPU mode only.",
                             valueName: "pid"))
  var pid: Int32?

  @Flag(help: "Also track the heap, as prof heap does at its default rate, and add a heap-in-use counter.")
  var heap = false

  @Option(help: ArgumentHelp("The signal that interrupts threads for samples, for programs that need SIGPROF themselves: SIGRTMIN+N, SIGRTMAX-N, SIGVTALRM, SIGUSR1, SIGUSR2 or a number.",
                             valueName: "signal"))
  var signal: SamplingSignal = .profiling

  @Flag(help: "Trace the processes the program starts too (forked or exec'd), each as a process of its own in the same trace.")
  var followChildren = false

  @OptionGroup var target: TargetOptions

  enum Mode: String, ExpressibleByArgument, CaseIterable {
    case cpu
    case wall
  }

  func validate() throws {
    guard (1...5000).contains(hz) else { throw ValidationError("--hz must be between 1 and 5000") }
    if let duration, duration.value == 0 { throw ValidationError("--duration must be a positive number of seconds") }
    if let maxSize, maxSize < 1024 { throw ValidationError("--max-size must be at least 1024 bytes") }
  }

  func run() throws {
    if let pid { return try runAttached(pid) }
    let command = try target.resolve()
    let traceFile = try AtomicOutputFile(path: output)
    let profileFile = try pprof.map { try AtomicOutputFile(path: $0) }
    var settings = [AgentEnvironment.hz.name: String(hz), AgentEnvironment.clock.name: mode.rawValue,
                    AgentEnvironment.trace.name: "1", AgentEnvironment.signal.name: String(signal.number)]
    if let duration { settings[AgentEnvironment.durationNanos.name] = String(duration.nanoseconds) }
    if heap { settings[AgentEnvironment.heapRate.name] = String(Heap.defaultSampleRate) }
    let children = followChildren ? try ChildStreams() : nil
    defer { children?.remove() }
    let process = try AgentLibrary.launch(command, settings: settings.merging(children?.settings ?? [:]) { $1 })

    var timeline = TimelineCollector()
    var samples = CPUSampleCollector()
    let recording = try AgentRecording.collect(from: process, duration: duration) { record in
      timeline.consume(record)
      samples.consume(record)
    }
    let symbolizer = CPU.symbolizer().map(CachingSymbolizer.init)
    var symbolization = SymbolizationWarnings()
    func traced(_ timeline: TimelineCollector, _ samples: CPUSampleCollector, name: String, end: UInt64) -> ChromeTraceBuilder.Process {
      let (frames, warnings) = SymbolizedStacks.resolve(timeline.stacks, modules: samples.modules, symbolizer: symbolizer)
      symbolization.say(warnings)
      return ChromeTraceBuilder.Process(timeline: timeline, frames: frames, name: name, endMonotonicNanos: end)
    }
    var processes = [traced(timeline, samples, name: command.arguments.joined(separator: " "), end: recording.finishedNanos)]
    try children?.forEach { name, records, durationNanos in
      var (timeline, samples) = (TimelineCollector(), CPUSampleCollector())
      records.forEach { timeline.consume($0); samples.consume($0) }
      let program = samples.modules.first.map { URL(fileURLWithPath: $0.path).lastPathComponent } ?? "child"
      let end = (timeline.start?.monotonicNanos ?? 0) + UInt64(durationNanos)
      processes.append(traced(timeline, samples, name: "\(program) (child \(name))", end: end))
    }
    try write(processes, samples: samples, recording: recording, traceFile: traceFile, profileFile: profileFile,
              symbolizer: symbolizer, comment: "prof trace " + target.command.joined(separator: " "))
    if recording.stoppedEarly { process.send(SIGINT) }
    let status = process.waitForExit()
    samples.signalWarnings(hz: hz, signal: signal).forEach { warn($0) }
    let threads = timeline.ticks.count
    let ticks = timeline.ticks.values.map(\.count).reduce(0, +)
    let others = processes.count > 1 ? " (and \(processes.count - 1) child processes)" : ""
    warn("\(ticks) samples from \(threads) threads\(others), \(timeline.events.count) user events; wrote \(output)"
         + (pprof.map { " and \($0)" } ?? "") + "; open it in https://ui.perfetto.dev")
    try status.passThrough()
  }

  /// The trace, and with --pprof the profile, of what was recorded.
  private func write(_ processes: [ChromeTraceBuilder.Process], samples: CPUSampleCollector, recording: AgentRecording,
                     traceFile: AtomicOutputFile, profileFile: AtomicOutputFile?, symbolizer: CachingSymbolizer?,
                     comment: String) throws {
    let options = ChromeTraceBuilder.Options(mode: mode == .wall ? .wall : .cpu, hz: hz, maximumBytes: maxSize)
    let (json, notes) = ChromeTraceBuilder(processes: processes, options: options).build()
    notes.forEach { warn($0) }
    try traceFile.commit(output.hasSuffix(".gz") ? Gzip.compress(json) : json)
    if let profileFile {
      let (profile, _) = CPUProfile.build(from: samples, hz: hz, clock: mode == .wall ? .wall : .cpu,
                                          durationNanos: recording.durationNanos, symbolizer: symbolizer,
                                          comments: [comment])
      try profileFile.commit(profile.gzipped())
    }
  }

  /// `--pid`: a window of a running process, traced by its dormant agent.
  private func runAttached(_ pid: Int32) throws {
    guard target.command.isEmpty else { throw ValidationError("--pid attaches to a running process: give no COMMAND") }
    guard mode == .cpu, !heap, !followChildren, signal == .profiling else {
      throw ValidationError("--pid traces in cpu mode with SIGPROF: --mode wall, --heap, --follow-children and --signal need prof trace -- COMMAND")
    }
    let traceFile = try AtomicOutputFile(path: output)
    let profileFile = try pprof.map { try AtomicOutputFile(path: $0) }
    var timeline = TimelineCollector()
    var samples = CPUSampleCollector()
    let recording = try AttachedRecording.collect(pid: pid, request: "trace hz=\(hz)", duration: duration ?? Seconds(1)) { record in
      timeline.consume(record)
      samples.consume(record)
    }
    let symbolizer = CPU.symbolizer().map(CachingSymbolizer.init)
    let (frames, warnings) = SymbolizedStacks.resolve(timeline.stacks, modules: samples.modules, symbolizer: symbolizer)
    var symbolization = SymbolizationWarnings()
    symbolization.say(warnings)
    let process = ChromeTraceBuilder.Process(timeline: timeline, frames: frames, name: "process \(pid)", endMonotonicNanos: recording.finishedNanos)
    try write([process], samples: samples, recording: recording, traceFile: traceFile, profileFile: profileFile,
              symbolizer: symbolizer, comment: "prof trace --pid \(pid)")
    samples.signalWarnings(hz: hz, signal: signal).forEach { warn($0) }
    let ticks = timeline.ticks.values.map(\.count).reduce(0, +)
    warn("\(ticks) samples from \(timeline.ticks.count) threads, \(timeline.events.count) user events; wrote \(output)"
         + (pprof.map { " and \($0)" } ?? "") + "; open it in https://ui.perfetto.dev")
  }
}
