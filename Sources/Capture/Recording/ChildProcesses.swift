import AgentStream
import Foundation
import TargetLaunch

/// A followed child's stream, decoded: `name` is its pid, or pid.n (an image exec'd
/// after its process's stream had ended: STREAM.md, "Children").
public struct ChildRecording<Sink> {
  public let name: String
  public let sink: Sink
  /// From the agent's start to the stream file's last write: the child's last
  /// flush, which may be long before prof reads the file at the end of the run.
  public let durationNanos: Int64
  public let start: StreamStart?
}

/// The directory where followed children's agents write their streams, one file
/// per process: <pid>.stream (an exec'd image goes on with it), or <pid>.<n>.stream
/// for an image exec'd after its process's stream had ended.
struct ChildStreams {
  let directory: String
  /// Whether the directory is this run's own, to remove at the end.
  private let temporary: Bool

  /// Streams already written to `directory` (tests read recorded ones); kept.
  init(directory: String) { self.init(directory: directory, temporary: false) }

  private init(directory: String, temporary: Bool) {
    self.directory = directory
    self.temporary = temporary
  }

  /// A new, empty directory for this run.
  init() throws {
    var template = Array((NSTemporaryDirectory() + "/prof-children-XXXXXX").utf8CString)
    guard mkdtemp(&template) != nil else {
      throw LaunchError(description: "cannot create a directory for child processes' streams")
    }
    self.init(directory: String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), temporary: true)
  }

  /// What tells the agent to follow children: it writes their streams here.
  var settings: [String: String] { [AgentEnvironment.children.name: directory] }

  /// Each stream decoded into a sink of its own, ordered by name. A stream cut
  /// short (its process was killed) keeps the records before the cut.
  func recordings<Sink: RecordSink>(_ makeSink: () -> Sink) throws -> [ChildRecording<Sink>] {
    let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".stream") }
    return try files.map { String($0.dropLast(".stream".count)) }.sorted().map { name in
      let url = URL(fileURLWithPath: directory + "/" + name + ".stream")
      var sink = makeSink()
      var stream = RecordStream(source: "child \(name): ")
      stream.feed(try [UInt8](Data(contentsOf: url)), into: &sink)
      stream.finish()
      let lastWrite = try url.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate
      return ChildRecording(name: name, sink: sink, durationNanos: Self.nanos(from: stream.start, to: lastWrite),
                            start: stream.start)
    }
  }

  private static func nanos(from start: StreamStart?, to lastWrite: Date?) -> Int64 {
    guard let start, let lastWrite else { return 0 }
    return max(0, Int64(lastWrite.timeIntervalSince1970 * 1e9) - Int64(start.realtimeNanos))
  }

  /// Removes the directory if this run created it.
  func remove() {
    if temporary { try? FileManager.default.removeItem(atPath: directory) }
  }
}
