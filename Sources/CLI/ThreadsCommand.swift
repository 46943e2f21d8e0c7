import AgentStream
import ArgumentParser
import CPUProfiling
import Foundation
import Pprof
import Recording
import Symbolization
import TargetLaunch

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

  @Option(help: ArgumentHelp("The process to dump.", valueName: "pid"))
  var pid: Int32

  @Option(help: "How stacks are captured: libunwind or fp (frame pointers).")
  var unwind: Unwinder = .libunwind

  @OptionGroup var asyncStacks: AsyncStackOptions

  @OptionGroup var symbols: SymbolizerOptions

  func run() throws {
    var sink = ThreadDumpSink(pid: pid)
    _ = try AttachedWindow.record(pid: pid, request: "threads unwind=\(unwind.rawValue) \(asyncStacks.request)", duration: nil, into: &sink)
    let (profile, _) = CPUProfile.build(from: sink.samples, hz: 1, durationNanos: 0, symbolizer: symbols.symbolizer(), comments: [])
    print(Self.dump(profile, states: sink.states), terminator: "")
  }

  /// Go's panic-style dump: a header per thread, then each frame's function and,
  /// indented, file:line.
  static func dump(_ profile: Profile, states: [UInt32: String]) -> String {
    let functions = Dictionary(profile.functions.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    let locations = Dictionary(profile.locations.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    var text = ""
    let threads = profile.samples.map { sample -> (tid: Int64, name: String, sample: Sample) in
      var tid: Int64 = 0, name = ""
      for label in sample.labels {
        if label.key == "tid", case .number(let number, _) = label.value { tid = number }
        if label.key == "thread_comm", case .string(let string) = label.value { name = string }
      }
      return (tid, name, sample)
    }.sorted { $0.tid < $1.tid }
    for thread in threads {
      text += "thread \(thread.tid) \"\(thread.name)\" [\(states[UInt32(thread.tid)] ?? "unknown")]:\n"
      for id in thread.sample.locationIDs {
        guard let location = locations[id] else { continue }
        if location.lines.isEmpty { text += String(format: "0x%llx\n", location.address) }
        for line in location.lines {
          let function = functions[line.functionID]
          text += "\(function?.name ?? "?")\n"
          text += "\t\(function.map { $0.filename.isEmpty ? "?" : $0.filename } ?? "?"):\(line.line)\n"
        }
      }
      text += "\n"
    }
    return text
  }

  /// The samples, and each thread's state read from /proc when its name arrives.
  struct ThreadDumpSink: RecordSink {
    let pid: Int32
    var samples = CPUSampleCollector()
    var states: [UInt32: String] = [:]

    mutating func consume(_ record: AgentRecord) {
      if case .thread(let thread) = record, states[thread.tid] == nil { states[thread.tid] = Threads.state(pid: pid, tid: thread.tid) }
      samples.consume(record)
    }
  }

  /// The state letter of /proc/PID/task/TID/stat, in words.
  static func state(pid: Int32, tid: UInt32) -> String {
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
