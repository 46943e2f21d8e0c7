import CAllocCounter
import Glibc

/// The handle a benchmark body receives, like Go's testing.B: how many
/// iterations to run, timer control and extra metrics.
public final class Bencher {
  /// The number of iterations the body must run.
  public private(set) var n: Int

  private var timerOn = false
  private var started: UInt64 = 0
  private(set) var elapsedNanoseconds: UInt64 = 0
  private(set) var bytesPerOperation: Int = 0
  private(set) var extraMetrics: [String: Double] = [:]

  init(n: Int) {
    self.n = n
  }

  /// Starts timing and allocation counting; called before the body runs.
  public func startTimer() {
    guard !timerOn else { return }
    timerOn = true
    prof_alloc_counter_set_enabled(1)
    started = monotonicNanoseconds()
  }

  /// Stops timing and allocation counting, e.g. around per-iteration setup
  /// that should not be measured.
  public func stopTimer() {
    guard timerOn else { return }
    elapsedNanoseconds += monotonicNanoseconds() - started
    prof_alloc_counter_set_enabled(0)
    timerOn = false
  }

  /// Zeroes the elapsed time and allocation counts, e.g. after expensive
  /// setup. Does not change whether the timer is running.
  public func resetTimer() {
    if timerOn { started = monotonicNanoseconds() }
    elapsedNanoseconds = 0
    prof_alloc_counter_reset()
  }

  /// Records that one iteration processes `bytes` bytes; the result then
  /// reports throughput in MB/s.
  public func setBytes(_ bytes: Int) {
    bytesPerOperation = bytes
  }

  /// Reports a custom metric, such as `reportMetric(hits / Double(b.n), "hits/op")`.
  /// A later report of the same unit replaces the earlier one; reporting a
  /// built-in unit (ns/op, B/op, allocs/op, MB/s) overrides the measured value.
  public func reportMetric(_ value: Double, _ unit: String) {
    extraMetrics[unit] = value
  }

  /// Runs `body` for `n` iterations with the timer on, like Go's runN.
  func run(_ body: (Bencher) throws -> Void) rethrows {
    prof_alloc_counter_reset()
    elapsedNanoseconds = 0
    startTimer()
    defer { stopTimer() }
    try body(self)
  }
}

func monotonicNanoseconds() -> UInt64 {
  var now = timespec()
  clock_gettime(CLOCK_MONOTONIC, &now)
  return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
