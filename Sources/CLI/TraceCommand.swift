import AgentStream
import ArgumentParser

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

      A wait for a lock (pthread mutex or rwlock, NSLock, Swift's Mutex) of at least \
      --lock-wait-threshold shows on the thread's spans track as a "waiting for lock" \
      slice with the lock's address and the tid of the thread that held it.

      prof exits with the program's exit status (128+N if a signal N killed it).

      Examples:
        prof trace -- .build/release/myserver --port 8080
        prof trace --mode wall --hz 200 -o server.json.gz -- .build/release/myserver
        prof trace --pprof cpu.pb.gz -- ./batch-job input.csv
        prof trace --follow-children -- ./run-workers.sh
        prof trace --lock-wait-threshold 200us -- .build/release/myserver
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

  @Option(parsing: .unconditional, help: ArgumentHelp("Attach to this running process, started with `prof run` or LD_PRELOAD=$(prof agent), instead of running COMMAND: trace it for --duration (default 1 s) and leave it running. CPU mode only.",
                             valueName: "pid"))
  var pid: Int32?

  @Option(parsing: .unconditional, help: ArgumentHelp("Show lock waits at least this long as \"waiting for lock\" slices, in Go's duration syntax (500us, 1.5ms, 2s, 1m30s; at most 1h); 0: none. Default 1ms. Not with --pid.",
                             valueName: "duration"))
  var lockWaitThreshold: GoDuration?

  /// Lock waits are on unless the user says otherwise.
  var lockWaitNanos: UInt64 { (lockWaitThreshold ?? GoDuration(nanoseconds: 1_000_000)).nanoseconds }

  @Flag(help: "Also track the heap, as prof heap does at its default rate, and add a heap-in-use counter.")
  var heap = false

  @Option(help: ArgumentHelp("The signal that interrupts threads for samples, for programs that need SIGPROF themselves: SIGRTMIN+N, SIGRTMAX-N, SIGVTALRM, SIGUSR1, SIGUSR2 or a number.",
                             valueName: "signal"))
  var signal: SamplingSignal = .profiling

  @Flag(help: "Trace the processes the program starts too (forked or exec'd), each as a process of its own in the same trace.")
  var followChildren = false

  @OptionGroup var asyncStacks: AsyncStackOptions

  @OptionGroup var symbols: SymbolizerOptions

  @OptionGroup var target: TargetOptions

  enum Mode: String, ExpressibleByArgument, CaseIterable {
    case cpu
    case wall
  }

  func validate() throws {
    if pid != nil && followChildren { throw ValidationError("--follow-children cannot be used with --pid: an attached agent records only its own process") }
    guard (1...5000).contains(hz) else { throw ValidationError("--hz must be between 1 and 5000") }
    try duration?.validate("--duration")
    try lockWaitThreshold?.validate("--lock-wait-threshold")
    try validateProcessID(pid)
    try validateDistinct([("-o", output), ("--pprof", pprof)])
    if let maxSize, maxSize < 1024 { throw ValidationError("--max-size must be at least 1024 bytes") }
  }
}
