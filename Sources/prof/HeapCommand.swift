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

      prof exits with the program's exit status (128+N if a signal N killed it).

      Examples:
        prof heap -- .build/release/myserver
        prof heap --sample-rate 1 -o exact.pb.gz -- ./tool --input big.json
        prof heap --snapshot-every 10 -- .build/release/myserver
        go tool pprof -top heap.pb.gz
        go tool pprof -sample_index=alloc_space -http=: heap.pb.gz
        go tool pprof -top -base heap.1.pb.gz heap.3.pb.gz
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

  @Flag(help: "Profile child processes too, each into its own file with its pid in the name (heap.<pid>.pb.gz).")
  var followChildren = false

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
    let children = try followChildren ? ChildStreams() : nil
    defer { children?.remove() }
    var settings = ["PROF_HEAP_RATE": String(sampleRate)]
    settings["PROF_HEAP_CHILDREN"] = children?.directory
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
    if let children { try writeChildProfiles(children, symbolizer) }
    warn("wrote \(output)\(snapshots.map { $0.written > 0 ? " and \($0.written) snapshots" : "" } ?? ""); view: go tool pprof -http=: \(output)")
    try status.passThrough()
  }

  @discardableResult
  private func write(_ collector: HeapCollector, to file: AtomicOutputFile, _ symbolizer: Symbolizer?) throws -> Profile {
    let started = collector.start?.monotonicNanos ?? 0
    let now = AgentSession.monotonicNanos()
    let (profile, warnings) = HeapProfile.build(
      from: collector, durationNanos: started > 0 && now > started ? Int64(now - started) : 0, symbolizer: symbolizer,
      comments: ["prof heap " + target.command.joined(separator: " ")])
    warnings.forEach { warn("cannot symbolize \($0)") }
    if collector.undefinedBuckets > 0 { warn("\(collector.undefinedBuckets) counts named stacks the agent never sent") }
    try file.commit(profile.gzipped())
    return profile
  }

  /// One profile per process image that wrote a stream: heap.<pid>.pb.gz.
  private func writeChildProfiles(_ children: ChildStreams, _ symbolizer: Symbolizer?) throws {
    for (name, bytes) in try children.streams() {
      var collector = HeapCollector()
      var decoder = AgentStreamDecoder()
      decoder.append(bytes)
      do {
        while let record = try decoder.next() { collector.consume(record) }
      } catch {
        warn("child \(name): \(error); keeping the records read before it")
      }
      let path = numbered(output, name)
      let profile = try write(collector, to: AtomicOutputFile(path: path), symbolizer)
      warn("child \(name): " + (HeapSummary.lines(collector, profile, topLeaks: 0).first ?? "") + "; wrote \(path)")
    }
  }
}

/// heap.pb.gz -> heap.<tag>.pb.gz; names without the suffix get .<tag> appended.
func numbered(_ path: String, _ tag: CustomStringConvertible) -> String {
  path.hasSuffix(".pb.gz") ? "\(path.dropLast(6)).\(tag).pb.gz" : "\(path).\(tag)"
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

/// The directory where followed children's agents write their streams, one file
/// per process image: <pid>.stream, or <pid>.<n>.stream after an exec.
struct ChildStreams {
  let directory: String

  init() throws {
    var template = Array((NSTemporaryDirectory() + "/prof-heap-XXXXXX").utf8CString)
    guard mkdtemp(&template) != nil else { throw ProfError("cannot create a directory for child processes' streams") }
    directory = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// (pid or pid.n, bytes), ordered by name.
  func streams() throws -> [(name: String, bytes: [UInt8])] {
    let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".stream") }.sorted()
    return try names.map { name in
      (String(name.dropLast(7)), try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))))
    }
  }

  func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
