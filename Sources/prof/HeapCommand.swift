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
        prof heap --snapshot-every 10 -- .build/release/myserver
        prof heap --follow-children --merge -- ./run-workers.sh
        go tool pprof -top heap.pb.gz
        go tool pprof -sample_index=alloc_space -http=: heap.pb.gz
        go tool pprof -top -base heap.1.pb.gz heap.3.pb.gz
        go tool pprof -top -tagfocus=process=worker heap.merged.pb.gz
      """
  )

  @Option(name: .shortAndLong, help: "Where to write the profile.")
  var output = "heap.pb.gz"

  @Option(help: ArgumentHelp("Mean bytes allocated between samples (Go's default, 512 KiB); 1 records every allocation.",
                             valueName: "bytes"))
  var sampleRate = Heap.defaultSampleRate

  /// Go's MemProfileRate: a sample every 512 KiB allocated, on average.
  static let defaultSampleRate = 524_288

  @Option(help: ArgumentHelp("Also write numbered profiles (heap.1.pb.gz, ...) this often, to diff with go tool pprof -base.",
                             valueName: "seconds"))
  var snapshotEvery: Double?

  @OptionGroup var children: ChildOptions

  @OptionGroup var target: TargetOptions

  func validate() throws {
    guard sampleRate >= 1 else { throw ValidationError("--sample-rate must be at least 1 byte") }
    if let snapshotEvery, !(snapshotEvery > 0) {
      throw ValidationError("--snapshot-every must be a positive number of seconds")
    }
  }

  func run() throws {
    let command = try target.resolve()
    let file = try AtomicOutputFile(path: output)
    let followed = try ChildProcesses(children)
    defer { followed.remove() }
    let settings = ["PROF_HEAP_RATE": String(sampleRate)].merging(followed.settings) { $1 }
    let process = try AgentLibrary.launch(command, settings: settings)

    let symbolizer = CPU.symbolizer()
    var snapshots = snapshotEvery.map { Snapshots(intervalNanos: UInt64($0 * 1e9)) }
    var collector = HeapCollector()
    var snapshotFailure: Error?
    _ = try AgentRecording.collect(from: process, durationSeconds: nil) { record in
      collector.consume(record)
      guard case .heap(.stats) = record, snapshotFailure == nil else { return }  // the end of a flush
      do {
        try snapshots?.writeIfDue(collector) { try write(collector, to: AtomicOutputFile(path: numbered(output, $0)), symbolizer) }
      } catch {
        snapshotFailure = error
      }
    }
    if let snapshotFailure { throw snapshotFailure }
    let profile = try write(collector, to: file, symbolizer)
    let status = process.waitForExit()
    if collector.start != nil && collector.endReason == nil {
      warn("the program ended without the agent's final flush (killed, crashed or exec'd): allocations of its last 50 ms may be missing")
    }
    HeapSummary.lines(collector, profile).forEach(warn)
    try followed.writeProfiles(beside: output, parent: profile, pid: process.pid) { records, durationNanos in
      var collector = HeapCollector()
      records.forEach { collector.consume($0) }
      let profile = build(collector, durationNanos: durationNanos, symbolizer)
      return (profile, HeapSummary.lines(collector, profile, topLeaks: 0).first ?? "")
    }
    warn("wrote \(output)\(snapshots.map { $0.written > 0 ? " and \($0.written) snapshots" : "" } ?? ""); view: go tool pprof -http=: \(output)")
    try status.passThrough()
  }

  @discardableResult
  private func write(_ collector: HeapCollector, to file: AtomicOutputFile, _ symbolizer: Symbolizer?) throws -> Profile {
    let started = collector.start?.monotonicNanos ?? 0
    let now = AgentSession.monotonicNanos()
    let profile = build(collector, durationNanos: started > 0 && now > started ? Int64(now - started) : 0, symbolizer)
    try file.commit(profile.gzipped())
    return profile
  }

  private func build(_ collector: HeapCollector, durationNanos: Int64, _ symbolizer: Symbolizer?) -> Profile {
    let (profile, warnings) = HeapProfile.build(
      from: collector, durationNanos: durationNanos, symbolizer: symbolizer,
      comments: ["prof heap " + target.command.joined(separator: " ")])
    warnings.forEach { warn("cannot symbolize \($0)") }
    if collector.undefinedBuckets > 0 { warn("\(collector.undefinedBuckets) counts named stacks the agent never sent") }
    return profile
  }
}

/// Writes a numbered profile every interval while the program runs.
struct Snapshots {
  let intervalNanos: UInt64
  private var next: UInt64
  private(set) var written = 0

  init(intervalNanos: UInt64) {
    self.intervalNanos = intervalNanos
    next = AgentSession.monotonicNanos() + intervalNanos
  }

  mutating func writeIfDue(_ collector: HeapCollector, _ write: (Int) throws -> Void) rethrows {
    let now = AgentSession.monotonicNanos()
    guard now >= next, collector.endReason == nil else { return }
    written += 1
    try write(written)
    next = now + intervalNanos
  }
}
