import AgentStream
import ArgumentParser
import CPUProfiling
import Foundation
import Pprof
import Recording
import Symbolization
import TargetLaunch

/// `prof agent`: the library to preload into programs started by something else.
struct Agent: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print the agent library's absolute path, for LD_PRELOAD.",
    discussion: """
      A program started with this library preloaded runs as usual: its agent is \
      dormant (no timers, no signal handlers, one thread blocked on a socket) until \
      prof attaches to it with --pid.

      Examples:
        LD_PRELOAD=$(prof agent) .build/release/myserver &
        prof cpu --pid $! --duration 30
        # systemd unit:  Environment=LD_PRELOAD=/path/printed/by/prof/agent
        # Dockerfile:    ENV LD_PRELOAD=/path/printed/by/prof/agent
      """
  )

  func run() throws { print(try AgentLibrary.locate()) }
}

/// `prof run -- COMMAND`: the program with a dormant agent, prof in front of it.
struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a program with prof's agent dormant, to attach to it by pid while it runs.",
    discussion: """
      The program runs as it would alone: the agent records nothing, arms no timer \
      and installs no signal handler until `prof cpu --pid`, `prof trace --pid` or \
      `prof threads --pid` asks it for a window; after the window it is dormant \
      again. prof stays in front: SIGINT and SIGTERM reach the program, and prof \
      exits with its status (128+N if a signal N killed it).

      Examples:
        prof run -- .build/release/myserver --port 8080 &
        prof cpu --pid $(pgrep myserver) --duration 30
        prof threads --pid $(pgrep myserver)
        prof run --heap -- .build/release/myserver &   # then: prof heap --pid PID
      """
  )

  @Flag(help: "Track the heap from the program's start, so that `prof heap --pid` can take its profile at any time (costs what prof heap costs).")
  var heap = false

  @Option(help: ArgumentHelp("With --heap: mean bytes allocated between samples (Go's default, 512 KiB); 1 records every allocation.",
                             valueName: "bytes"))
  var heapRate = Heap.defaultSampleRate

  @OptionGroup var target: TargetOptions

  func validate() throws {
    guard (1...(1 << 40)).contains(heapRate) else { throw ValidationError("--heap-rate must be between 1 byte and 1 TiB") }
  }

  func run() throws {
    let settings = heap ? [AgentEnvironment.heapRate.name: String(heapRate)] : [:]
    // No stream pipe: the agent stays dormant, attachable by pid.
    let process = try TargetProcess(command: target.resolve(), environment: AgentLibrary.environment(settings: settings), pipe: .none)
    warn("running \(target.command.joined(separator: " ")) as pid \(process.pid): attach with prof cpu --pid \(process.pid)")
    try process.waitForExit(reading: { _ in }).passThrough()
  }
}

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

  @OptionGroup var symbols: SymbolizerOptions

  func run() throws {
    var sink = ThreadDumpSink(pid: pid)
    _ = try AttachedWindow.record(pid: pid, request: "threads unwind=\(unwind.rawValue)", duration: nil, into: &sink)
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
