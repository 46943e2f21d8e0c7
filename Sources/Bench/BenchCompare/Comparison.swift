import BenchStats

/// How `compare` decides what counts as a regression.
public struct CompareOptions: Sendable {
  /// Significance level, applied to Holm-Bonferroni adjusted p-values.
  public var alpha = 0.05
  /// Smallest relative change (0.05 = 5%) that counts as a regression.
  public var threshold = 0.05
  /// Smallest absolute change, in the metric's own unit, that counts.
  public var floor = 0.0
  /// Allowed absolute increase of exact metrics (allocs/op, assume=exact).
  public var exactTolerance = 0.0
  public var confidence = 0.95

  public init() {}
}

public enum Verdict: String, Codable, Sendable {
  case regression, improvement
  /// Not significant (statistical metrics) or equal within tolerance (exact).
  case unchanged
  /// Significant, but smaller than the threshold or the floor.
  case belowThreshold = "below-threshold"
}

/// One benchmark's metric on both sides.
public struct Row: Codable, Sendable {
  public var name: String
  public var old: Summary
  public var new: Summary
  /// new median - old median.
  public var difference: Double
  /// new median / old median - 1; nil when the medians differ and either is 0 or below
  /// (old) or below 0 (new), where a ratio means nothing.
  public var delta: Double?
  /// Mann-Whitney U p-value; nil for exact metrics.
  public var p: Double?
  /// p after Holm-Bonferroni across the benchmarks of this metric.
  public var pAdjusted: Double?
  public var verdict: Verdict
}

public struct Geomean: Codable, Sendable {
  public var old: Double
  public var new: Double
  public var delta: Double
  /// Benchmarks included: those whose medians are positive on both sides.
  public var count: Int
}

/// All benchmarks' rows for one unit, such as ns/op.
public struct MetricTable: Codable, Sendable {
  public var unit: String
  public var better: String
  public var exact: Bool
  public var rows: [Row]
  public var geomean: Geomean?
}

/// A benchmark side with too few samples for the statistics to mean much.
public struct SampleWarning: Codable, Sendable, CustomStringConvertible {
  public var file: String
  public var name: String
  public var count: Int
  public var otherCount: Int
  /// Set when even complete separation could not reach significance.
  public var minimumP: Double?

  public var description: String {
    "\(file): \(name) has \(count) sample\(count == 1 ? "" : "s"): fewer than 6 give no "
      + "finite 95% CI of the median"
      + (minimumP.map {
        "; against \(otherCount) the smallest possible p is \(String(format: "%.3f", $0))"
          + ", so no change can be significant"
      } ?? "")
      + "; run with --count 10"
  }
}

public struct Comparison: Codable, Sendable {
  public var tables: [MetricTable]
  public var onlyInOld: [String]
  public var onlyInNew: [String]
  public var warnings: [SampleWarning]

  public var regressions: [(unit: String, row: Row)] {
    tables.flatMap { table in
      table.rows.filter { $0.verdict == .regression }.map { (table.unit, $0) }
    }
  }
}
