import Glibc

/// Runs the collection phase of a profiling session: feeds the agent's stream to
/// `consume` until the agent says it is done, the target exits, or a deadline.
public enum AgentSession {
  public enum Ending: Equatable {
    case agentFinished
    case targetExited(TerminationStatus)
    case streamClosed
    case deadline
  }

  /// `consume` returns true once the stream's end record arrived.
  /// SIGINT and SIGTERM sent to prof are forwarded to the target.
  public static func collect(
    from target: TargetProcess,
    deadlineNanos: UInt64? = nil,
    consume: ([UInt8]) throws -> Bool
  ) rethrows -> Ending {
    while true {
      switch target.nextEvent(timeoutMilliseconds: remainingMilliseconds(until: deadlineNanos)) {
      case .stream(let bytes):
        if try consume(bytes) { return .agentFinished }
      case .streamClosed:
        return .streamClosed
      case .exited(let status):
        _ = try consume(target.drainStream())
        return .targetExited(status)
      case .signal(let signal, let fromTerminal):
        if !fromTerminal { target.send(signal) }
      case .timeout:
        if deadlineNanos != nil { return .deadline }
      }
    }
  }

  public static func monotonicNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
  }

  /// Nanoseconds from `start` to `end` on the monotonic clock the agent also reads;
  /// 0 without a start.
  public static func nanos(from start: UInt64?, to end: UInt64 = monotonicNanos()) -> Int64 {
    guard let start, end > start else { return 0 }
    return Int64(end - start)
  }

  private static func remainingMilliseconds(until deadline: UInt64?) -> Int32 {
    guard let deadline else { return -1 }
    let now = monotonicNanos()
    return now >= deadline ? 0 : Int32(min((deadline - now) / 1_000_000 + 1, UInt64(Int32.max)))
  }
}
