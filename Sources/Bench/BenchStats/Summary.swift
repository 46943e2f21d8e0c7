import Foundation

/// The median of a sample with a distribution-free confidence interval.
public struct Summary: Equatable, Codable, Sendable {
  public var median: Double
  /// Bounds of the confidence interval, nil when the sample is too small
  /// for a finite interval at the requested confidence (n < 6 at 95%).
  public var low: Double?
  public var high: Double?
  public var count: Int

  /// Summarizes a non-empty sample.
  public init(_ sample: [Double], confidence: Double = 0.95) {
    precondition(!sample.isEmpty, "cannot summarize an empty sample")
    let sorted = sample.sorted()
    median = Self.median(sorted: sorted)
    count = sorted.count
    if let (lo, hi) = Self.medianCIRanks(n: sorted.count, confidence: confidence) {
      low = sorted[lo - 1]
      high = sorted[hi - 1]
    }
  }

  static func median(sorted: [Double]) -> Double {
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  }

  /// 1-based ranks (k, n+1-k) of the order statistics that bound the median
  /// with at least `confidence` coverage: P(k <= B <= n-k) for
  /// B ~ Binomial(n, 1/2), the number of observations below the median.
  /// Picks the narrowest such interval; nil when even [min, max] is too narrow.
  public static func medianCIRanks(n: Int, confidence: Double) -> (Int, Int)? {
    var best: (Int, Int)?
    var cdf = 0.0  // P(B <= k - 1)
    for k in 1...max(1, n / 2) {
      cdf += binomialHalf(n: n, k: k - 1)
      guard 1 - 2 * cdf >= confidence else { break }
      best = (k, n + 1 - k)
    }
    return best
  }

  /// P(B = k) for B ~ Binomial(n, 1/2), in log space so large n cannot overflow.
  static func binomialHalf(n: Int, k: Int) -> Double {
    let logChoose = lgamma(Double(n + 1)) - lgamma(Double(k + 1)) - lgamma(Double(n - k + 1))
    return exp(logChoose - Double(n) * log(2))
  }
}
