import AgentStream
import Glibc
import OutputFile
import TargetLaunch

/// A window of a running process's stream, read over its dormant agent's control
/// socket (`--pid`): the same records, decoded by the same RecordStream into the
/// same sinks as a launched program's. The program is never signalled or waited for.
public struct AttachedWindow {
  public struct Failure: Error, CustomStringConvertible {
    public let description: String
  }

  public let start: StreamStart?
  public let endReason: EndReason?
  public let finishedNanos: UInt64

  /// From the agent's start of the window to the end of collection.
  public var durationNanos: Int64 { MonotonicClock.nanos(from: start?.monotonicNanos, to: finishedNanos) }

  /// Asks `pid`'s agent for `request`; after `durationNanos` (nil: until the agent
  /// ends the stream by itself, as a thread dump or heap snapshot does) or any of
  /// `terminatingSignals` (Ctrl-C, a kill, a closed terminal's SIGHUP), says `stop`
  /// and reads to the end, so that what was recorded is written. Signals prof was
  /// started with ignored (nohup's SIGHUP) stay ignored.
  public static func record<Sink: RecordSink>(pid: Int32, request: String, durationNanos: UInt64?,
                                              into sink: inout Sink) throws(Failure) -> AttachedWindow {
    var interrupts = sigset_t()
    sigemptyset(&interrupts)
    for signal in terminatingSignals {
      var current = sigaction()
      if sigaction(signal, nil, &current) != 0 || !isIgnoring(current) { sigaddset(&interrupts, signal) }
    }
    var previousMask = sigset_t()
    pthread_sigmask(SIG_BLOCK, &interrupts, &previousMask)
    defer { pthread_sigmask(SIG_SETMASK, &previousMask, nil) }
    return try record(pid: pid, request: request, durationNanos: durationNanos, into: &sink,
                      stopEarly: { interrupted(&interrupts) })
  }

  /// The same, ended early when `stopEarly` says so (checked every 100 ms): an HTTP
  /// client that went away, in a process whose signals are someone else's to read.
  public static func record<Sink: RecordSink>(pid: Int32, request: String, durationNanos: UInt64?,
                                              into sink: inout Sink, stopEarly: () -> Bool) throws(Failure) -> AttachedWindow {
    let connection: AgentConnection
    do { connection = try AgentConnection(pid: pid, request: request) } catch { throw Failure(description: error.description) }
    var stream = RecordStream(source: "")
    var first = true
    let deadline = durationNanos.map { MonotonicClock.now() + $0 }
    var giveUp: UInt64?  // after `stop`: an agent that never answers is not waited for
    reading: while stream.endReason == nil && !stream.failed {
      let now = MonotonicClock.now()
      if giveUp == nil, (deadline.map { now >= $0 } ?? false) || stopEarly() {
        connection.stop()
        giveUp = now + 5_000_000_000
      }
      if let giveUp, now >= giveUp { break }
      switch connection.next(timeoutMilliseconds: 100) {
      case .timeout: continue
      case .closed: break reading
      case .stream(let bytes):
        if first, let refused = connection.refusal(in: bytes) { throw Failure(description: refused.description) }
        first = false
        stream.feed(bytes, into: &sink)
      }
    }
    stream.finish()
    guard stream.start != nil else { throw Failure(description: "process \(pid)'s agent sent nothing: it may have exited") }
    let exited = stream.endReason == nil || stream.endReason == .exit
    if exited { warn("process \(pid) exited during the window: keeping what was recorded until then") }
    return AttachedWindow(start: stream.start, endReason: stream.endReason, finishedNanos: MonotonicClock.now())
  }

  private static func interrupted(_ signals: inout sigset_t) -> Bool {
    var none = timespec()
    var info = siginfo_t()
    while sigtimedwait(&signals, &info, &none) > 0 {
      // A timer's expiry is a profiler of prof sampling it (--signal SIGRTMIN+3), not someone asking to stop.
      if info.si_code != SI_TIMER { return true }
    }
    return false
  }
}
