import AgentStream
import ArgumentParser
import Foundation
import OutputFile
import Pprof
import TargetLaunch

/// --follow-children and --merge: what prof cpu and prof heap do with the processes
/// the program starts.
struct ChildOptions: ParsableArguments {
  @Flag(help: "Profile the processes the program starts too, forked or exec'd, each into its own file with its pid in the name (-o x.pb.gz: x.<pid>.pb.gz).")
  var followChildren = false

  @Flag(help: "With --follow-children, also write one profile of every process (-o x.pb.gz: x.merged.pb.gz), each sample labelled with its process's pid and program name.")
  var merge = false

  func validate() throws {
    if merge && !followChildren { throw ValidationError("--merge combines the profiles --follow-children writes: give both") }
  }
}

/// The processes a run starts besides the one prof launched, when followed: their
/// agents' streams, a profile of each, and with --merge one profile of them all.
struct ChildProcesses {
  private let streams: ChildStreams?
  private let merge: Bool

  init(_ options: ChildOptions) throws {
    streams = options.followChildren ? try ChildStreams() : nil
    merge = options.merge
  }

  /// The agent's settings: none unless children are followed.
  var settings: [String: String] { streams?.settings ?? [:] }

  func remove() { streams?.remove() }

  /// Writes each child's profile, made by `profile` from its records and duration,
  /// beside `output` (x.<pid>.pb.gz), and says its summary lines (the first one
  /// with the file's name); with --merge then x.merged.pb.gz of `parent` (the
  /// process prof launched, `pid`) and every child.
  func writeProfiles(beside output: String, parent: Profile, pid: pid_t,
                     profile: (_ records: [AgentRecord], _ durationNanos: Int64) throws -> (profile: Profile, summary: [String])) throws {
    guard let streams else { return }
    var processes = [(profile: parent, labels: Self.labels(pid: Int64(pid), parent))]
    try streams.forEach { name, records, durationNanos in
      let (child, summary) = try profile(records, durationNanos)
      let path = numbered(output, name)
      try AtomicOutputFile(path: path).commit(child.gzipped())
      for (index, line) in summary.enumerated() { warn("child \(name): \(line)\(index == 0 ? "; wrote \(path)" : "")") }
      processes.append((child, Self.labels(pid: Int64(name.prefix { $0.isNumber }) ?? 0, child)))
    }
    guard merge else { return }
    let path = numbered(output, "merged")
    try AtomicOutputFile(path: path).commit(Profile.merged(processes).gzipped())
    warn("wrote \(path) of \(processes.count) processes; go tool pprof -tags \(path) shows each one's share")
  }

  /// pid, and the program's name as pprof's "File:" shows it (the first mapping's).
  private static func labels(pid: Int64, _ profile: Profile) -> [Label] {
    var labels = [Label(key: "pid", value: .number(pid, unit: ""))]
    if let file = profile.mappings.first?.filename, !file.isEmpty {
      labels.append(Label(key: "process", value: .string(URL(fileURLWithPath: file).lastPathComponent)))
    }
    return labels
  }
}

/// The directory where followed children's agents write their streams, one file
/// per process image: <pid>.stream, or <pid>.<n>.stream (heap mode) after an exec.
struct ChildStreams {
  let directory: String

  init() throws {
    var template = Array((NSTemporaryDirectory() + "/prof-children-XXXXXX").utf8CString)
    guard mkdtemp(&template) != nil else { throw ProfError("cannot create a directory for child processes' streams") }
    directory = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// What tells the agent to follow children: it writes their streams here.
  var settings: [String: String] { [AgentEnvironment.children.name: directory] }

  /// Calls `body` with each stream's name (pid or pid.n), records and duration,
  /// ordered by name. A stream cut short (its process was killed) keeps the records
  /// before the cut.
  func forEach(_ body: (_ name: String, _ records: [AgentRecord], _ durationNanos: Int64) throws -> Void) throws {
    let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".stream") }
    for name in files.map({ String($0.dropLast(".stream".count)) }).sorted() {
      let url = URL(fileURLWithPath: directory + "/" + name + ".stream")
      var decoder = AgentStreamDecoder()
      decoder.append(try [UInt8](Data(contentsOf: url)))
      var records: [AgentRecord] = []
      do {
        while let record = try decoder.next() { records.append(record) }
      } catch {
        warn("child \(name): \(error); keeping the records read before it")
      }
      if let skipped = decoder.skippedSummary { warn("child \(name): \(skipped)") }
      let lastWrite = try url.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate
      try body(name, records, Self.durationNanos(records, until: lastWrite))
    }
  }

  /// From the agent's start to the file's last write: the child's last flush, which
  /// may be long before prof reads the file at the end of the run.
  private static func durationNanos(_ records: [AgentRecord], until lastWrite: Date?) -> Int64 {
    guard case .start(let start)? = records.first, let lastWrite else { return 0 }
    return max(0, Int64(lastWrite.timeIntervalSince1970 * 1e9) - Int64(start.realtimeNanos))
  }

  func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// heap.pb.gz -> heap.<tag>.pb.gz; names without the suffix get .<tag> appended.
func numbered(_ path: String, _ tag: CustomStringConvertible) -> String {
  path.hasSuffix(".pb.gz") ? "\(path.dropLast(6)).\(tag).pb.gz" : "\(path).\(tag)"
}
