import AgentStream
import ArgumentParser

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
        prof cpu --unwind hybrid --hz 1000 -- .build/release/myserver  # cheaper stacks, still sound
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

  @Option(help: "How stacks are captured: libunwind (DWARF CFI, always sound), hybrid (frame pointers through functions whose CFI shows they keep them, libunwind elsewhere: sound) or fp (frame pointers only: fastest, sound only for code built with them, as SwiftPM builds are).")
  var unwind: Unwinder = .libunwind

  @Option(help: ArgumentHelp("The signal that interrupts threads for samples, for programs that need SIGPROF themselves: SIGRTMIN+N, SIGRTMAX-N, SIGVTALRM, SIGUSR1, SIGUSR2 or a number.",
                             valueName: "signal"))
  var signal: SamplingSignal = .profiling

  @Option(parsing: .unconditional, help: ArgumentHelp("Attach to this running process, started with `prof run` or LD_PRELOAD=$(prof agent), instead of running COMMAND: sample it for --duration (default 30 s) or until Ctrl-C, and leave it running.",
                             valueName: "pid"))
  var pid: Int32?

  @OptionGroup var recording: ProfileRecordingOptions

  func validate() throws {
    try recording.refuse(pid: pid)
    guard (1...5000).contains(hz) else { throw ValidationError("--hz must be between 1 and 5000") }
    try duration?.validate("--duration")
    try validateProcessID(pid)
  }
}

extension SamplingSignal: ExpressibleByArgument {
  public init?(argument: String) { self.init(argument) }

  public var defaultValueDescription: String { name }
}
