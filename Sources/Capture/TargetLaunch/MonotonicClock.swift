import Glibc

/// CLOCK_MONOTONIC, which the agent stamps its records with, so that prof's
/// times and the agent's compare.
public enum MonotonicClock {
  public static func now() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
  }

  /// Nanoseconds from `start` to `end` on the monotonic clock the agent also reads;
  /// 0 without a start.
  public static func nanos(from start: UInt64?, to end: UInt64 = now()) -> Int64 {
    guard let start, end > start else { return 0 }
    return Int64(end - start)
  }
}
