import AgentStream
import ArgumentParser
import Foundation
import HeapProfiling
import OutputFile
import Pprof
import Symbolization
import TargetLaunch

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

  @Option(help: "How a recorded allocation's stack is captured: libunwind (DWARF CFI, always sound) or fp (frame pointers: several times faster with --sample-rate 1, sound for Swift code and the Swift runtime, not for C libraries built without them).")
  var unwind: Unwinder = .libunwind

  @Option(help: ArgumentHelp("Write the heap profile of this running process, started with `prof run --heap`, instead of running COMMAND: what its agent has tracked since the program started. The program runs on.",
                             valueName: "pid"))
  var pid: Int32?

  @OptionGroup var checkpoint: CheckpointOptions

  @OptionGroup var children: ChildOptions

  @OptionGroup var target: TargetOptions

  func validate() throws {
    guard (1...(1 << 40)).contains(sampleRate) else { throw ValidationError("--sample-rate must be between 1 byte and 1 TiB") }
    if let snapshotEvery, snapshotEvery.value == 0 {
      throw ValidationError("--snapshot-every must be a positive number of seconds")
    }
  }

  func run() throws {
    if let pid { return try runAttached(pid) }
    let command = try target.resolve()
    let file = try AtomicOutputFile(path: output)
    let followed = try ChildProcesses(children)
    defer { followed.remove() }
    let settings = [AgentEnvironment.heapRate.name: String(sampleRate), AgentEnvironment.unwind.name: unwind.rawValue].merging(followed.settings) { $1 }
    let process = try AgentLibrary.launch(command, settings: settings)

    var snapshot = Snapshot(collector: HeapCollector(), symbolizer: CPU.symbolizer().map(CachingSymbolizer.init),
                            comments: ["prof heap " + target.command.joined(separator: " ")])
    let writes = DispatchQueue(label: "prof.heap.writes")  // one at a time: they share the symbolizer
    let checkpoints = checkpoint.checkpoints(queue: writes)
    let snapshots = snapshotEvery.map { Checkpoints(every: $0, what: "snapshot", queue: writes) }
    _ = try AgentRecording.collect(from: process, duration: nil) { record in
      snapshot.collector.consume(record)
      guard case .heap(.stats) = record, snapshot.collector.endReason == nil else { return }  // the end of a flush
      checkpoints?.offer { [snapshot, output] _ in try snapshot.write(to: output) }
      snapshots?.offer { [snapshot, output] number in try snapshot.write(to: numbered(output, number)) }
    }
    writes.sync {}
    let collector = snapshot.collector
    let (profile, warnings) = snapshot.profile(durationNanos: snapshot.nanosSinceStart)
    var symbolization = SymbolizationWarnings()
    symbolization.say(warnings)
    if collector.undefinedBuckets > 0 { warn("\(collector.undefinedBuckets) counts named stacks the agent never sent") }
    if unwind == .fp {
      let stacks = collector.counts.compactMap { id, counts in collector.buckets[id].map { ($0.frames, counts.allocObjects) } }
      FramePointerCheck.warnings(stacks, modules: collector.modules).forEach { warn($0) }
    }
    let written = Result { try file.commit(profile.gzipped()) }
    let status = process.waitForExit()
    if collector.start != nil && collector.endReason == nil {
      warn(process.missingFinalFlushMessage(lastProgram: command.path, lost: "allocations"))
    }
    try written.get()
    HeapSummary.lines(collector, profile).forEach(warn)
    try followed.writeProfiles(beside: output, parent: profile, pid: process.pid) { records, durationNanos in
      var child = Snapshot(collector: HeapCollector(), symbolizer: snapshot.symbolizer, comments: snapshot.comments)
      records.forEach { child.collector.consume($0) }
      let (profile, warnings) = child.profile(durationNanos: durationNanos)
      symbolization.say(warnings)
      return (profile, HeapSummary.lines(child.collector, profile, topLeaks: 0))
    }
    let snapshotsWritten = snapshots?.written ?? 0
    warn("wrote \(output)\(snapshotsWritten > 0 ? " and \(snapshotsWritten) snapshots" : ""); view: go tool pprof -http=: \(output)")
    try status.passThrough()
  }

  /// `--pid`: the running program's heap, from its agent's tables; its rate is the
  /// one `prof run --heap-rate` gave it.
  private func runAttached(_ pid: Int32) throws {
    guard target.command.isEmpty else { throw ValidationError("--pid attaches to a running process: give no COMMAND") }
    let file = try AtomicOutputFile(path: output)
    var snapshot = Snapshot(collector: HeapCollector(), symbolizer: CPU.symbolizer().map(CachingSymbolizer.init),
                            comments: ["prof heap --pid \(pid)"])
    _ = try AttachedRecording.collect(pid: pid, request: "heap", duration: nil) { snapshot.collector.consume($0) }
    let (profile, warnings) = snapshot.profile(durationNanos: 0)
    var symbolization = SymbolizationWarnings()
    symbolization.say(warnings)
    try file.commit(profile.gzipped())
    HeapSummary.lines(snapshot.collector, profile).forEach(warn)
    warn("wrote \(output); view: go tool pprof -http=: \(output)")
  }

  /// The profile so far and what building it needs. Checkpoints and snapshots get
  /// a copy on the thread that writes them; the symbolizer is used by one thread at
  /// a time (the final write waits for them).
  private struct Snapshot: @unchecked Sendable {
    var collector: HeapCollector
    let symbolizer: CachingSymbolizer?
    let comments: [String]

    var nanosSinceStart: Int64 { AgentSession.nanos(from: collector.start?.monotonicNanos) }

    /// The profile, and what could not be symbolized.
    func profile(durationNanos: Int64) -> (Profile, [String]) {
      HeapProfile.build(from: collector, durationNanos: durationNanos, symbolizer: symbolizer, comments: comments)
    }

    func write(to path: String) throws {
      try AtomicOutputFile(path: path).commit(profile(durationNanos: nanosSinceStart).0.gzipped())
    }
  }
}
