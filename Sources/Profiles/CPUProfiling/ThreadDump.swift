import AgentStream
import Foundation
import Pprof
import Recording
import Symbolization

/// Every thread's stack at one moment (the control channel's `threads` request),
/// for `prof threads --pid` and `/debug/pprof/goroutine`: one sample per thread,
/// labelled with its tid and name, and each thread's state from /proc.
public struct ThreadDump {
  public let profile: Profile
  public let states: [UInt32: String]

  /// The samples, and each thread's state read from /proc when its name arrives.
  public struct Sink: RecordSink {
    let pid: Int32
    public var samples = CPUSampleCollector()
    public var states: [UInt32: String] = [:]

    public init(pid: Int32) { self.pid = pid }

    public mutating func consume(_ record: AgentRecord) {
      if case .thread(let tid, _) = record, states[tid] == nil { states[tid] = ThreadDump.state(pid: pid, tid: tid) }
      samples.consume(record)
    }
  }

  public init(_ sink: Sink, symbolizer: Symbolizer?) {
    profile = CPUProfile.build(from: sink.samples, hz: 1, durationNanos: 0, symbolizer: symbolizer, comments: []).profile
    states = sink.states
  }

  public struct Thread {
    public let tid: Int64
    public let name: String
    public let sample: Sample
  }

  /// By tid.
  public var threads: [Thread] {
    profile.samples.map { sample -> Thread in
      var tid: Int64 = 0, name = ""
      for label in sample.labels {
        if label.key == "tid", case .number(let number, _) = label.value { tid = number }
        if label.key == "thread_comm", case .string(let string) = label.value { name = string }
      }
      return Thread(tid: tid, name: name, sample: sample)
    }.sorted { $0.tid < $1.tid }
  }

  /// Go's panic-style dump (goroutine?debug=2): a header per thread, then each
  /// frame's function and, indented, file:line.
  public var text: String {
    var text = ""
    let printer = Profile.FramePrinter(profile)
    for thread in threads {
      text += "thread \(thread.tid) \"\(thread.name)\" [\(states[UInt32(thread.tid)] ?? "unknown")]:\n"
      text += printer.frames(of: thread.sample.locationIDs).map { "\($0.function)\n\t\($0.place)\n" }.joined()
      text += "\n"
    }
    return text
  }

  /// The state letter of /proc/PID/task/TID/stat, in words.
  public static func state(pid: Int32, tid: UInt32) -> String {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return "exited" }
    let letter = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
    switch letter {
    case "R": return "running"
    case "S": return "sleeping"
    case "D": return "waiting on I/O"
    case "T", "t": return "stopped"
    case "Z": return "zombie"
    default: return String(letter ?? "?")
    }
  }
}
