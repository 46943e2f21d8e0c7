import Foundation

/// The two-sided Mann-Whitney U (Wilcoxon rank-sum) test.
public enum MannWhitney {
  public enum Method: String, Codable, Sendable {
    /// The exact null distribution of U (valid without ties).
    case exact
    /// The normal approximation with tie and continuity corrections.
    case normal
  }

  public struct Result: Equatable, Codable, Sendable {
    /// U of the first sample: R1 - n1(n1+1)/2.
    public var u: Double
    public var p: Double
    public var method: Method
  }

  /// Largest sample size on each side for which the exact distribution is used.
  public static let exactLimit = 50

  /// Tests whether `x` and `y` come from the same distribution. Uses the
  /// exact distribution for small samples without ties, else the normal
  /// approximation. Both samples must be non-empty.
  public static func test(_ x: [Double], _ y: [Double], method: Method? = nil) -> Result {
    precondition(!x.isEmpty && !y.isEmpty, "Mann-Whitney U needs two non-empty samples")
    let ranked = Ranks(x + y)
    let n1 = Double(x.count)
    let r1 = ranked.ranks[..<x.count].reduce(0, +)
    let u = r1 - n1 * (n1 + 1) / 2
    let chosen =
      method
      ?? (ranked.tieCorrection == 0 && max(x.count, y.count) <= exactLimit ? .exact : .normal)
    let p =
      switch chosen {
      case .exact: exactP(u: u, n1: x.count, n2: y.count)
      case .normal: normalP(u: u, n1: x.count, n2: y.count, tieCorrection: ranked.tieCorrection)
      }
    return Result(u: u, p: p, method: chosen)
  }

  /// The smallest two-sided p any data can reach with these sample sizes:
  /// complete separation, 2 / C(n1 + n2, n1). Above 0.05 for 3 against 3
  /// or 4, so such samples can never show a significant change.
  public static func minimumP(n1: Int, n2: Int) -> Double {
    let logChoose = lgamma(Double(n1 + n2 + 1)) - lgamma(Double(n1 + 1)) - lgamma(Double(n2 + 1))
    return min(1, 2 * exp(-logChoose))
  }

  /// Two-sided p = 2 * min(P(U <= u), P(U >= u)), capped at 1.
  static func exactP(u: Double, n1: Int, n2: Int) -> Double {
    let counts = uDistribution(n1: n1, n2: n2)
    let total = counts.reduce(0, +)
    let k = Int(u.rounded())
    let lower = counts[...k].reduce(0, +) / total
    let upper = counts[k...].reduce(0, +) / total
    return min(1, 2 * min(lower, upper))
  }

  /// Number of arrangements giving each U in 0...n1*n2: the coefficients of
  /// the Gaussian binomial prod_{i=1..n1} (1 - q^(n2+i)) / (1 - q^i).
  static func uDistribution(n1: Int, n2: Int) -> [Double] {
    let size = n1 * n2 + 1
    var c = [Double](repeating: 0, count: size)
    c[0] = 1
    for i in 1...n1 {
      // Multiply by (1 - q^(n2+i)), from the top down so c[j - d] is still old.
      let d = n2 + i
      if d < size { for j in stride(from: size - 1, through: d, by: -1) { c[j] -= c[j - d] } }
      // Divide by (1 - q^i): a running sum with stride i.
      for j in i..<size { c[j] += c[j - i] }
    }
    return c
  }

  /// z = (|U - n1 n2 / 2| - 1/2) / sigma, with the tie-corrected
  /// sigma^2 = n1 n2 / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1))).
  static func normalP(u: Double, n1: Int, n2: Int, tieCorrection: Double) -> Double {
    let a = Double(n1)
    let b = Double(n2)
    let n = a + b
    let variance = a * b / 12 * ((n + 1) - tieCorrection / (n * (n - 1)))
    guard variance > 0 else { return 1 }  // Every value is the same.
    let z = max(0, abs(u - a * b / 2) - 0.5) / variance.squareRoot()
    return min(1, erfc(z / 2.0.squareRoot()))
  }
}

/// Mid-ranks (1-based, ties get their average rank) and sum(t^3 - t) over tie groups.
struct Ranks {
  var ranks: [Double]
  var tieCorrection: Double

  init(_ values: [Double]) {
    let order = values.indices.sorted { values[$0] < values[$1] }
    ranks = [Double](repeating: 0, count: values.count)
    tieCorrection = 0
    var start = 0
    while start < order.count {
      var end = start + 1
      while end < order.count && values[order[end]] == values[order[start]] { end += 1 }
      let midRank = Double(start + end + 1) / 2
      for i in start..<end { ranks[order[i]] = midRank }
      let t = Double(end - start)
      tieCorrection += t * t * t - t
      start = end
    }
  }
}
