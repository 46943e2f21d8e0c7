/// How long to run each benchmark: a duration (`1s`, `500ms`) or a fixed
/// iteration count (`100x`), as Go's -benchtime flag.
public enum BenchTime: Equatable, Sendable {
  case nanoseconds(UInt64)
  case iterations(Int)

  private static let unitNanoseconds: [(suffix: String, scale: Double)] = [
    ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
  ]

  /// Parses `100x` or a positive duration with one unit: ns, us, µs, ms, s, m, h.
  public init?(_ text: String) {
    if text.hasSuffix("x") {
      guard let count = Int(text.dropLast()), count > 0 else { return nil }
      self = .iterations(count)
      return
    }
    // Try the longest suffix first so "ms" is not read as "m".
    for (suffix, scale) in Self.unitNanoseconds.sorted(by: { $0.suffix.count > $1.suffix.count })
    where text.hasSuffix(suffix) {
      // At least 1 ns, and at most ~30 years so that UInt64 holds it.
      guard let amount = Double(text.dropLast(suffix.count)), amount * scale >= 1,
        amount * scale < 1e18
      else { return nil }
      self = .nanoseconds(UInt64(amount * scale))
      return
    }
    return nil
  }
}

/// Go's prediction of the next iteration count: aim for the goal with 20%
/// headroom, grow at most 100x and at least by one, never past 1e9.
/// (testing/benchmark.go, launch.)
func predictIterations(goalNanoseconds: UInt64, lastN: Int, lastNanoseconds: UInt64) -> Int {
  // Multiply before dividing: for fast benchmarks lastN ~ lastNanoseconds.
  let (product, overflow) = Int(clamping: goalNanoseconds).multipliedReportingOverflow(by: lastN)
  var n = overflow ? Int.max : product / Int(clamping: max(lastNanoseconds, 1))
  n = n.addingReportingOverflow(n / 5).overflow ? Int.max : n + n / 5
  n = min(n, 100 * lastN)
  n = max(n, lastN + 1)
  return min(n, 1_000_000_000)
}

/// Runs one sample as Go does: N=1 first, then predicted counts until a
/// run lasts `benchTime`, or the fixed count. Returns the last run.
/// `runN` runs the body N times.
func measure(benchTime: BenchTime, runN: (Int) throws -> Round) rethrows -> Round {
  var round = try runN(1)
  switch benchTime {
  case .iterations(let count):
    if count > 1 { round = try runN(count) }
  case .nanoseconds(let goal):
    while round.nanoseconds < goal && round.n < 1_000_000_000 {
      let next = predictIterations(
        goalNanoseconds: goal, lastN: round.n, lastNanoseconds: round.nanoseconds)
      round = try runN(next)
    }
  }
  return round
}
