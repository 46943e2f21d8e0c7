import AgentStream
import ArgumentParser
import CPUProfiling
import Foundation
import OutputFile
import Pprof
import Symbolization
import TargetLaunch

struct CPU: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cpu",
    abstract: "Sample where a program spends CPU time; write a pprof profile.",
    discussion: """
      Runs COMMAND with prof's agent preloaded. Every thread gets its own CPU-time \
      timer; each tick records the thread's stack. When the program exits (or on \
      Ctrl-C, or after --duration) prof symbolizes the stacks and writes a gzipped \
      pprof file that go tool pprof, Pyroscope and speedscope open.

      With --follow-children, the processes the program starts (forked, or exec'd \
      after a fork) are profiled too, each into cpu.<pid>.pb.gz; a child that execs \
      goes on in its file, as the program itself does in cpu.pb.gz. --merge adds \
      cpu.merged.pb.gz with every process, its samples labelled pid and process. \
      Without it, children are not profiled and run at full speed.

      prof exits with the program's exit status (128+N if a signal N killed it).

      Examples:
        prof cpu -- .build/release/myserver --port 8080
        prof cpu --hz 1000 -o slow-path.pb.gz -- ./bench --iterations 100
        prof cpu --duration 30 -- .build/release/myserver
        prof cpu --checkpoint-every 60 -- .build/release/myserver  # rewrite cpu.pb.gz each minute
        prof cpu --follow-children --merge -- make -j2
        prof cpu --pid 4242 --duration 30   # a program started with prof run or LD_PRELOAD=$(prof agent)
        go tool pprof -top cpu.pb.gz
        go tool pprof -http=: cpu.pb.gz
        go tool pprof -tags cpu.merged.pb.gz
      """
  )

  @Option(name: .shortAndLong, help: "Where to write the profile.")
  var output = "cpu.pb.gz"

  @Option(parsing: .unconditional, help: "Samples per second of CPU time, per thread (1-5000). Go's default is 100.")
  var hz = 100

  @Option(parsing: .unconditional, help: ArgumentHelp("Stop sampling after this many seconds, write the profile, then send the program SIGINT.",
                             valueName: "seconds"))
  var duration: Seconds?

  @Option(help: "How stacks are captured: libunwind (DWARF CFI, always sound) or fp (frame pointers: faster, sound only for code built with them, as SwiftPM builds are).")
  var unwind: Unwinder = .libunwind

  @Option(help: ArgumentHelp("The signal that interrupts threads for samples, for programs that need SIGPROF themselves: SIGRTMIN+N, SIGRTMAX-N, SIGVTALRM, SIGUSR1, SIGUSR2 or a number.",
                             valueName: "signal"))
  var signal: SamplingSignal = .profiling

  @Option(help: ArgumentHelp("Attach to this running process, started with `prof run` or LD_PRELOAD=$(prof agent), instead of running COMMAND: sample it for --duration (default 30 s) or until Ctrl-C, and leave it running.",
                             valueName: "pid"))
  var pid: Int32?

  @OptionGroup var checkpoint: CheckpointOptions

  @OptionGroup var children: ChildOptions

  @OptionGroup var target: TargetOptions

  func validate() throws {
    guard (1...5000).contains(hz) else { throw ValidationError("--hz must be between 1 and 5000") }
    if let duration, duration.value == 0 { throw ValidationError("--duration must be a positive number of seconds") }
  }

  func run() throws {
    if let pid { return try runAttached(pid) }
    let command = try target.resolve()
    let file = try AtomicOutputFile(path: output)
    let followed = try ChildProcesses(children)
    defer { followed.remove() }
    var settings = [AgentEnvironment.hz.name: String(hz), AgentEnvironment.unwind.name: unwind.rawValue,
                    AgentEnvironment.signal.name: String(signal.number)]
    if let duration { settings[AgentEnvironment.durationNanos.name] = String(duration.nanoseconds) }
    let process = try AgentLibrary.launch(command, settings: settings.merging(followed.settings) { $1 })

    let checkpoints = checkpoint.checkpoints()
    var snapshot = Snapshot(collector: CPUSampleCollector(), symbolizer: Self.symbolizer().map(CachingSymbolizer.init),
                            hz: hz, comments: ["prof cpu " + target.command.joined(separator: " ")])
    let recording = try AgentRecording.collect(from: process, duration: duration) { record in
      snapshot.collector.consume(record)
      guard case .stats = record, let checkpoints else { return }  // the end of one of the agent's flushes
      checkpoints.offer { [snapshot, output] _ in try snapshot.write(to: output) }
    }
    checkpoints?.finish()
    let collector = snapshot.collector
    let (profile, warnings) = snapshot.profile(durationNanos: recording.durationNanos)
    var symbolization = SymbolizationWarnings()
    symbolization.say(warnings)
    let written = Result { try file.commit(profile.gzipped()) }

    if recording.stoppedEarly { process.send(SIGINT) }
    let status = process.waitForExit()
    if recording.start != nil && recording.endReason == nil {
      let missing = collector.stats.samples > collector.totals.samples ? collector.stats.samples - collector.totals.samples : 0
      warn(process.missingFinalFlushMessage(lastProgram: collector.modules.first?.path ?? command.path,
                                            lost: "samples (\(missing) counted)"))
    }
    collector.signalWarnings(hz: hz, signal: signal).forEach { warn($0) }
    if unwind == .fp {
      let stacks = collector.stacks.map { ($0.key.frames, $0.value.samples) }
      FramePointerCheck.warnings(stacks, modules: collector.modules).forEach { warn($0) }
    }
    try written.get()
    printSummary(collector, process: process)
    try followed.writeProfiles(beside: output, parent: profile, pid: process.pid) { records, durationNanos in
      var child = Snapshot(collector: CPUSampleCollector(), symbolizer: snapshot.symbolizer, hz: hz, comments: snapshot.comments)
      records.forEach { child.collector.consume($0) }
      let (profile, warnings) = child.profile(durationNanos: durationNanos)
      symbolization.say(warnings)
      return (profile, [sampled(child.collector)] + child.collector.signalWarnings(hz: hz, signal: signal))
    }
    try status.passThrough()
  }

  /// `--pid`: a window of a running process; its control channel takes only SIGPROF.
  private func runAttached(_ pid: Int32) throws {
    guard target.command.isEmpty else { throw ValidationError("--pid attaches to a running process: give no COMMAND") }
    guard signal == .profiling else { throw ValidationError("--signal cannot be used with --pid: an attached agent samples with SIGPROF") }
    let file = try AtomicOutputFile(path: output)
    var snapshot = Snapshot(collector: CPUSampleCollector(), symbolizer: Self.symbolizer().map(CachingSymbolizer.init),
                            hz: hz, comments: ["prof cpu --pid \(pid)"])
    let recording = try AttachedRecording.collect(pid: pid, request: "cpu hz=\(hz) unwind=\(unwind.rawValue)",
                                                  duration: duration ?? Seconds(30)) { snapshot.collector.consume($0) }
    let (profile, warnings) = snapshot.profile(durationNanos: recording.durationNanos)
    var symbolization = SymbolizationWarnings()
    symbolization.say(warnings)
    try file.commit(profile.gzipped())
    snapshot.collector.signalWarnings(hz: hz, signal: signal).forEach { warn($0) }
    printSummary(snapshot.collector, process: nil)
  }

  /// The profile so far and what building it needs. A checkpoint gets a copy on
  /// its own thread; the symbolizer is used by one thread at a time (the final
  /// write waits for a running checkpoint).
  private struct Snapshot: @unchecked Sendable {
    var collector: CPUSampleCollector
    let symbolizer: CachingSymbolizer?
    let hz: Int
    let comments: [String]

    /// The profile, and what could not be symbolized.
    func profile(durationNanos: Int64) -> (Profile, [String]) {
      CPUProfile.build(from: collector, hz: hz, durationNanos: durationNanos, symbolizer: symbolizer, comments: comments)
    }

    /// A checkpoint: the profile from the agent's start until now.
    func write(to path: String) throws {
      let (profile, _) = profile(durationNanos: AgentSession.nanos(from: collector.start?.monotonicNanos))
      try AtomicOutputFile(path: path).commit(profile.gzipped())
    }
  }

  static func symbolizer() -> Symbolizer? {
    if let symbolizer = LLVMSymbolizer.locate() { return symbolizer }
    warn("llvm-symbolizer not found (it ships with the Swift toolchain): the profile keeps raw addresses")
    return nil
  }

  /// `process`: the program prof ran, whose CPU time it knows; nil when attached.
  private func printSummary(_ collector: CPUSampleCollector, process: TargetProcess?) {
    let totals = collector.totals
    let used = process?.cpuNanos.map { String(format: " of %.2f s used", Double($0) / 1e9) } ?? ""
    // Shown when it is at least a tick of the kernel's accounting (10 ms).
    let childrenWhere = self.children.followChildren ? "in their own profiles" : "not profiled: --follow-children profiles them"
    let children = process?.childrenCPUNanos.flatMap {
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

extension SamplingSignal: ExpressibleByArgument {
  public init?(argument: String) { self.init(argument) }

  public var defaultValueDescription: String { name }
}

func warn(_ message: String) {
  StandardStream.say("prof: " + message)
}

/// Says "cannot symbolize" once per module and run, however many profiles (one
/// per child process) meet the same module.
struct SymbolizationWarnings {
  private var said = Set<String>()

  mutating func say(_ warnings: [String]) {
    for warning in warnings where said.insert(warning).inserted { warn("cannot symbolize \(warning)") }
  }
}
