import Foundation

/// Holm-Bonferroni adjusted p-values, in the order given: the i-th smallest
/// p is multiplied by (m - i + 1), then made monotone and capped at 1.
public func holmAdjusted(_ p: [Double]) -> [Double] {
  let m = p.count
  var adjusted = [Double](repeating: 0, count: m)
  var running = 0.0
  for (i, index) in p.indices.sorted(by: { p[$0] < p[$1] }).enumerated() {
    running = max(running, min(1, Double(m - i) * p[index]))
    adjusted[index] = running
  }
  return adjusted
}

/// The geometric mean of positive values; nil when empty or any is <= 0.
public func geometricMean(_ values: [Double]) -> Double? {
  guard !values.isEmpty, values.allSatisfy({ $0 > 0 }) else { return nil }
  return exp(values.map { log($0) }.reduce(0, +) / Double(values.count))
}
