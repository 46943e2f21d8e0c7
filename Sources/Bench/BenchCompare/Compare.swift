import BenchFormat
import BenchStats

/// Samples of one file grouped by benchmark name, then unit, in file order.
struct Samples {
  var names: [String] = []
  var units: [String] = []
  var values: [String: [String: [Double]]] = [:]
  var counts: [String: Int] = [:]

  init(_ file: BenchmarkFile) {
    for result in file.results {
      if counts[result.name] == nil { names.append(result.name) }
      counts[result.name, default: 0] += 1
      for m in result.measurements {
        if !units.contains(m.unit) { units.append(m.unit) }
        values[result.name, default: [:]][m.unit, default: []].append(m.value)
      }
    }
  }
}

/// Compares two benchmark files metric by metric.
public func compare(
  old: BenchmarkFile, oldLabel: String, new: BenchmarkFile, newLabel: String,
  options: CompareOptions = CompareOptions()
) -> Comparison {
  let before = Samples(old)
  let after = Samples(new)
  let common = before.names.filter { after.counts[$0] != nil }
  let units = before.units.filter(after.units.contains)
  let metadata = old.units.merging(new.units) { _, newer in newer }
  let tables = units.compactMap { unit in
    table(unit: unit, names: common, before: before, after: after,
      metadata: metadata[unit], options: options)
  }
  let warnings = common.flatMap { name in
    sampleWarnings(
      name: name, sides: [(oldLabel, before.counts[name]!), (newLabel, after.counts[name]!)],
      alpha: options.alpha)
  }
  return Comparison(
    tables: tables,
    onlyInOld: before.names.filter { after.counts[$0] == nil },
    onlyInNew: after.names.filter { before.counts[$0] == nil },
    warnings: warnings)
}

/// Warns for each side with fewer than 6 samples (no finite 95% CI of the
/// median), saying when the pair of sizes cannot reach p <= alpha at all.
func sampleWarnings(name: String, sides: [(label: String, count: Int)], alpha: Double) -> [SampleWarning] {
  let minimumP = MannWhitney.minimumP(n1: sides[0].count, n2: sides[1].count)
  return sides.indices.filter { sides[$0].count < 6 }.map { i in
    SampleWarning(
      file: sides[i].label, name: name, count: sides[i].count, otherCount: sides[1 - i].count,
      minimumP: minimumP > alpha ? minimumP : nil)
  }
}

func table(
  unit: String, names: [String], before: Samples, after: Samples,
  metadata: UnitMetadata?, options: CompareOptions
) -> MetricTable? {
  let better = metadata?.better ?? (unit.hasSuffix("/s") ? .higher : .lower)
  let exact = metadata?.exact ?? (unit == "allocs/op")
  var rows: [Row] = names.compactMap { name in
    guard let x = before.values[name]?[unit], let y = after.values[name]?[unit] else { return nil }
    return row(name: name, old: x, new: y, exact: exact, confidence: options.confidence)
  }
  guard !rows.isEmpty else { return nil }
  let statistical = rows.indices.filter { rows[$0].p != nil }
  for (i, adjusted) in zip(statistical, holmAdjusted(statistical.map { rows[$0].p! })) {
    rows[i].pAdjusted = adjusted
  }
  for i in rows.indices {
    rows[i].verdict = verdict(rows[i], better: better, exact: exact, options: options)
  }
  return MetricTable(
    unit: unit, better: better.rawValue, exact: exact, rows: rows, geomean: geomean(rows))
}

func row(name: String, old x: [Double], new y: [Double], exact: Bool, confidence: Double) -> Row {
  let old = Summary(x, confidence: confidence)
  let new = Summary(y, confidence: confidence)
  let difference = new.median - old.median
  // A ratio to a median of 0 or below (an empty loop, overhead subtracted past zero)
  // means nothing: -0.5 -> 10 ns/op is not a -2100% change.
  let delta: Double? =
    old.median > 0 && new.median >= 0 ? new.median / old.median - 1 : (difference == 0 ? 0 : nil)
  return Row(
    name: name, old: old, new: new, difference: difference, delta: delta,
    p: exact ? nil : MannWhitney.test(x, y).p, pAdjusted: nil, verdict: .unchanged)
}

/// Regression: significant AND worse than the relative threshold AND than the
/// absolute floor. Exact metrics skip the test and compare medians.
func verdict(_ row: Row, better: Better, exact: Bool, options: CompareOptions) -> Verdict {
  let sign: Double = better == .lower ? 1 : -1
  let worse = sign * row.difference
  if exact {
    if worse > options.exactTolerance { return .regression }
    return worse < -options.exactTolerance ? .improvement : .unchanged
  }
  guard let p = row.pAdjusted, p <= options.alpha else { return .unchanged }
  // Without a relative change (a median of 0 or below) only the absolute floor judges.
  let relative = abs(row.delta ?? .infinity)
  guard relative > options.threshold, abs(worse) > options.floor else { return .belowThreshold }
  return worse > 0 ? .regression : .improvement
}

func geomean(_ rows: [Row]) -> Geomean? {
  let positive = rows.filter { $0.old.median > 0 && $0.new.median > 0 }
  guard rows.count > 1, let old = geometricMean(positive.map(\.old.median)),
    let new = geometricMean(positive.map(\.new.median))
  else { return nil }
  return Geomean(old: old, new: new, delta: new / old - 1, count: positive.count)
}
