import AgentStream
import CPUProfiling
import ChromeTrace
import Foundation
import HeapProfiling
import Pprof
import Recording
import Symbolization
import Synchronization
import TargetLaunch

/// Go's net/http/pprof handlers for a running process whose agent is dormant: each
/// request is a window of its control channel (`AttachedWindow`, as `prof cpu
/// --pid` records it), symbolized and demangled here, never in the target.
public final class DebugPprofEndpoints: @unchecked Sendable {
  public struct Settings: Sendable {
    /// Whether the program was started with `prof run --heap` (its agent tracks the heap).
    public var heapTracked: Bool
    /// Whether it was started with `prof run --block` or `--mutex` (its agent counts waits).
    public var blockTracked = false
    public var mutexTracked = false
    public var hz = 100
    /// The longest `seconds` any endpoint takes (Go's limit is the server's WriteTimeout).
    public var maximumSeconds = 600.0

    public init(heapTracked: Bool) {
      self.heapTracked = heapTracked
    }
  }

  let settings: Settings
  private let program = Atomic<Int32>(0)
  /// The process served: set once it is started, after the server is listening
  /// (a program is not started for a server that cannot bind). 0 until then.
  public var pid: Int32 {
    get { program.load(ordering: .acquiring) }
    set { program.store(newValue, ordering: .releasing) }
  }
  private let symbolizer: Symbolizer?
  private let ending = NSCondition()
  private var programEnd: String?  // "exited (status 7)", once prof has reaped the program; guarded by `ending`
  private let symbolizing = NSLock()  // the symbolizer and its caches serve one request at a time
  private let turns = NSCondition()
  private var runningWindow: String?  // the request of this server's window, guarded by `turns`
  var knownModules: [LoadedModule] = []  // the last window's, for /symbol; guarded by `symbolizing`

  public init(_ settings: Settings, symbolizer: Symbolizer?) {
    self.settings = settings
    self.symbolizer = symbolizer
  }

  /// The program has ended (`how`: "exited (status 7)", "was killed by signal 9"):
  /// requests still waiting, and any that come before the server stops listening, are told so.
  public func programEnded(_ how: String) {
    ending.lock()
    programEnd = how
    ending.broadcast()
    ending.unlock()
  }

  /// 503 (go tool pprof prints the body): the program is gone, its agent with it.
  /// A window that failed because the program is exiting waits for prof to reap it,
  /// so that the status can be given.
  private func exited(waitingForTheStatus: Bool) -> Refusal? {
    ending.lock()
    defer { ending.unlock() }
    if programEnd == nil {
      guard waitingForTheStatus, TargetProcess.hasEnded(pid) else { return nil }
      let deadline = Date(timeIntervalSinceNow: 2)
      while programEnd == nil && ending.wait(until: deadline) {}
    }
    return Refusal(status: 503, reason: "the program \(programEnd ?? "exited"); no more profiles")
  }

  /// The answer to `request`; `cancelled` says the client went away, which ends a window early.
  public func respond(to request: DebugPprofRequest, cancelled: @escaping () -> Bool) -> DebugPprofResponse {
    let prefix = "/debug/pprof/"
    guard request.path.hasPrefix(prefix) || request.path == "/debug/pprof" else { return .error(404, "404 page not found") }
    let name = String(request.path.dropFirst(min(prefix.count, request.path.count)))
    let parameters = Parameters(query: request.query, maximumSeconds: settings.maximumSeconds)
    guard pid > 0 else { return .error(503, "the program is starting: retry") }
    do {
      if let gone = exited(waitingForTheStatus: false) { throw gone }
      if name != "symbol" && request.method != "GET" && request.method != "HEAD" {
        throw Refusal(status: 405, reason: "method not allowed: \(request.method) (GET only)")
      }
      switch name {
      case "": return .text(IndexPage.html, contentType: "text/html; charset=utf-8")
      case "cmdline": return .text(commandLine())
      case "profile": return try cpuProfile(parameters, cancelled: cancelled)
      case "trace": return try trace(parameters, cancelled: cancelled)
      case "heap", "allocs": return try heap(name, parameters, cancelled: cancelled)
      case "goroutine", "threadcreate": return try threads(name, parameters)
      case "mutex", "block": return try contention(name == "mutex" ? .mutex : .block, parameters, cancelled: cancelled)
      case "symbol": return try symbols(request)
      default: throw Refusal(status: 404, reason: "Unknown profile: \(name)")
      }
    } catch let refusal as Refusal {
      return .error(refusal.status, refusal.reason)
    } catch {
      return .error(500, String(describing: error))
    }
  }

  // MARK: windows

  /// One window of the agent; a busy agent is Go's 500, `busyReason` saying which.
  func window<Sink: RecordSink>(_ request: String, seconds: Double?, into sink: inout Sink, busyReason: String,
                                cancelled: () -> Bool) throws(Refusal) -> AttachedWindow {
    let kind = String(request.prefix { $0 != " " })
    try takeTurn(kind, cancelled: cancelled)
    defer { endTurn() }
    do {
      return try AttachedWindow.record(pid: pid, request: request, durationNanos: seconds.map { UInt64($0 * 1e9) },
                                       into: &sink, stopEarly: cancelled)
    } catch {
      if let gone = exited(waitingForTheStatus: true) { throw gone }
      if error.description.contains("refused: busy") { throw Refusal(status: 500, reason: busyReason) }
      throw Refusal(status: 500, reason: error.description)
    }
  }

  /// The agent runs one window at a time: this server's requests wait for their
  /// turn (a scraper asks for the heap while a CPU window runs), except a second CPU
  /// profile, which Go refuses.
  private func takeTurn(_ kind: String, cancelled: () -> Bool) throws(Refusal) {
    turns.lock()
    defer { turns.unlock() }
    while let running = runningWindow {
      if let gone = exited(waitingForTheStatus: false) { throw gone }
      if kind == "cpu" && running == "cpu" { throw Refusal(status: 500, reason: "Could not enable CPU profiling: cpu profiling already in use") }
      if cancelled() { throw Refusal(status: 499, reason: "the client went away") }
      _ = turns.wait(until: Date(timeIntervalSinceNow: 0.1))
    }
    if let gone = exited(waitingForTheStatus: false) { throw gone }
    runningWindow = kind
  }

  private func endTurn() {
    turns.lock()
    runningWindow = nil
    turns.broadcast()
    turns.unlock()
  }

  var busy: String { "the agent is busy with another session's window (prof cpu --pid?): retry when it ends" }

  /// Under the symbolizing lock; remembers the window's modules for /symbol.
  func symbolized<T>(modules: [LoadedModule], _ build: (Symbolizer?) -> T) -> T {
    symbolizing.lock()
    defer { symbolizing.unlock() }
    if !modules.isEmpty { knownModules = modules }
    return build(symbolizer)
  }

  private func cpuProfile(_ parameters: Parameters, cancelled: () -> Bool) throws(Refusal) -> DebugPprofResponse {
    let seconds = try parameters.seconds() ?? 30
    var collector = CPUSampleCollector()
    let window = try window("cpu hz=\(settings.hz)", seconds: seconds, into: &collector,
                            busyReason: "Could not enable CPU profiling: cpu profiling already in use", cancelled: cancelled)
    let profile = symbolized(modules: collector.modules) {
      CPUProfile.build(from: collector, hz: settings.hz, durationNanos: window.durationNanos, symbolizer: $0,
                       comments: ["prof run --http: /debug/pprof/profile of process \(pid)"]).profile
    }
    return .file(profile.gzipped(), named: "profile")
  }

  private func trace(_ parameters: Parameters, cancelled: () -> Bool) throws(Refusal) -> DebugPprofResponse {
    let seconds = try parameters.seconds() ?? 1
    var sinks = SinkPair(TimelineCollector(), CPUSampleCollector())
    let window = try window("trace hz=\(settings.hz)", seconds: seconds, into: &sinks, busyReason: busy, cancelled: cancelled)
    let json = symbolized(modules: sinks.second.modules) { symbolizer in
      let (frames, _) = SymbolizedStacks.resolve(sinks.first.stacks, modules: sinks.second.modules, symbolizer: symbolizer)
      let process = ChromeTraceBuilder.Process(timeline: sinks.first, frames: frames, name: "process \(pid)",
                                               endMonotonicNanos: window.finishedNanos)
      return ChromeTraceBuilder(processes: [process], options: .init(mode: .cpu, hz: settings.hz)).build().json
    }
    return .file(json, named: "trace")
  }

  /// The program's arguments, NUL-separated as Go's os.Args.
  private func commandLine() -> String {
    let raw = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
    return String(decoding: raw.last == 0 ? raw.dropLast() : raw, as: UTF8.self)
  }
}
