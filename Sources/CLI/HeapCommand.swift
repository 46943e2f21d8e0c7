import ArgumentParser

struct Heap: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "heap",
    abstract: "Track what a program allocates and leaks; write a pprof heap profile.",
    discussion: """
      Runs COMMAND with prof's agent preloaded, which wraps malloc, calloc, realloc, \
      free and the aligned allocators. As Go's runtime does, it samples about one \
      allocation per --sample-rate bytes and records its stack; frees of sampled \
      blocks are matched. The profile (alloc_objects, alloc_space, inuse_objects, \
      inuse_space) has its counts unbiased; "in use" means still allocated when the \
      program exited: leaked.

      With --follow-children, the processes the program starts (forked, or exec'd \
      after a fork) are tracked too, each into heap.<pid>.pb.gz (heap.<pid>.<n>.pb.gz \
      for the n-th program a child exec'd); --merge adds heap.merged.pb.gz with every \
      process, its samples labelled pid and process. Without it, children are not \
      tracked and run at full speed.

      prof exits with the program's exit status (128+N if a signal N killed it).

      Examples:
        prof heap -- .build/release/myserver
        prof heap --sample-rate 1 -o exact.pb.gz -- ./tool --input big.json
        prof heap --sample-rate 1 --unwind fp -- .build/release/myserver
        prof heap --snapshot-every 10 -- .build/release/myserver
        prof heap --follow-children --merge -- ./run-workers.sh
        prof heap --pid 4242   # a program started with prof run --heap: its heap now
        go tool pprof -top heap.pb.gz
        go tool pprof -sample_index=alloc_space -http=: heap.pb.gz
        go tool pprof -top -base heap.1.pb.gz heap.3.pb.gz
        go tool pprof -top -tagfocus=process=worker heap.merged.pb.gz
      """
  )

  @Option(name: .shortAndLong, help: "Where to write the profile.")
  var output = "heap.pb.gz"

  @Option(parsing: .unconditional, help: ArgumentHelp("Mean bytes allocated between samples (Go's default, 512 KiB); 1 records every allocation.",
                             valueName: "bytes"))
  var sampleRate = Heap.defaultSampleRate

  /// Go's MemProfileRate: a sample every 512 KiB allocated, on average.
  static let defaultSampleRate = 524_288

  @Option(parsing: .unconditional, help: ArgumentHelp("Also write numbered profiles (heap.1.pb.gz, ...) this often, to diff with go tool pprof -base.",
                             valueName: "seconds"))
  var snapshotEvery: Seconds?

  @Option(help: "How a recorded allocation's stack is captured: libunwind (DWARF CFI, always sound) or fp (frame pointers: several times faster with --sample-rate 1, sound for Swift code and the Swift runtime, not for C libraries built without them); hybrid is libunwind here.")
  var unwind: Unwinder = .libunwind

  @Option(parsing: .unconditional, help: ArgumentHelp("Write the heap profile of this running process, started with `prof run --heap`, instead of running COMMAND: what its agent has tracked since the program started. The program runs on.",
                             valueName: "pid"))
  var pid: Int32?

  @OptionGroup var recording: ProfileRecordingOptions

  func validate() throws {
    try recording.refuse(pid: pid)
    guard (1...(1 << 40)).contains(sampleRate) else { throw ValidationError("--sample-rate must be between 1 byte and 1 TiB") }
    try snapshotEvery?.validate("--snapshot-every")
    try validateProcessID(pid)
  }
}
