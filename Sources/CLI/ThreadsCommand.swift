import ArgumentParser
import CPUProfiling
import Recording

/// `prof threads --pid PID`: every thread's stack now, as Go's goroutine?debug=2.
struct Threads: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print every thread of a running process with its name, tid, state and stack.",
    discussion: """
      The process must run prof's agent (started with `prof run` or \
      LD_PRELOAD=$(prof agent)). Each thread is interrupted once by SIGPROF for its \
      stack: a thread sleeping in nanosleep, poll or epoll_wait returns early with \
      EINTR, as for any signal; the process otherwise runs on untouched.

      Example:
        prof threads --pid 4242
      """
  )

  @Option(parsing: .unconditional, help: ArgumentHelp("The process to dump.", valueName: "pid"))
  var pid: Int32

  func validate() throws { try validateProcessID(pid) }

  @Option(help: "How stacks are captured: libunwind, hybrid (frame pointers where the code keeps them, libunwind elsewhere) or fp (frame pointers).")
  var unwind: Unwinder = .libunwind

  @OptionGroup var asyncStacks: AsyncStackOptions

  @OptionGroup var symbols: SymbolizerOptions

  func run() throws {
    var sink = ThreadDump.Sink(pid: pid)
    _ = try AttachedWindow.record(pid: pid, request: "threads unwind=\(unwind.rawValue) \(asyncStacks.request)", duration: nil, into: &sink)
    print(ThreadDump(sink, symbolizer: symbols.symbolizer()).text, terminator: "")
  }
}
