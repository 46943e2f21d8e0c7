import BenchFormat
import BenchStats
import Foundation

/// Output formats of `prof bench compare`.
public enum ReportFormat: String, CaseIterable, Sendable {
  case text, markdown, json
}

/// Renders a comparison. Text and Markdown share the same cells.
public func render(
  _ comparison: Comparison, format: ReportFormat, options: CompareOptions
) -> String {
  switch format {
  case .json: renderJSON(comparison)
  case .text: renderText(comparison, options: options)
  case .markdown: renderMarkdown(comparison, options: options)
  }
}

func renderJSON(_ comparison: Comparison) -> String {
  String(decoding: JSONFormat.encode(value: comparison), as: UTF8.self) + "\n"
}

func renderText(_ comparison: Comparison, options: CompareOptions) -> String {
  var out = ""
  for table in comparison.tables {
    let cells = [header(table)] + table.rows.map(cells) + geomeanCells(table)
    let widths = cells[0].indices.map { column in cells.map { $0[column].count }.max()! }
    for line in cells {
      out += zip(line, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
        .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
    }
    out += "\n"
  }
  return out + summary(comparison, options: options).joined(separator: "\n") + "\n"
}

func renderMarkdown(_ comparison: Comparison, options: CompareOptions) -> String {
  var out = "### Benchmark comparison\n\n"
  out += summary(comparison, options: options).map { $0 + "\n" }.joined(separator: "\n") + "\n"
  for table in comparison.tables {
    let head = header(table)
    out += "| " + head.joined(separator: " | ") + " |\n"
    out += "|" + String(repeating: "---|", count: head.count) + "\n"
    for line in table.rows.map(cells) + geomeanCells(table) {
      out += "| " + line.joined(separator: " | ") + " |\n"
    }
    out += "\n"
  }
  return out
}

func header(_ table: MetricTable) -> [String] {
  [table.unit, "old (median, 95% CI)", "new (median, 95% CI)", "delta", "p", "verdict"]
}

func cells(_ row: Row) -> [String] {
  let notSignificant = row.p != nil && row.verdict == .unchanged
  let delta = notSignificant ? "~" : row.p == nil ? signed(row.difference) : change(row)
  let p = row.pAdjusted.map { String(format: "p=%.3f", $0) } ?? "exact"
  return [
    row.name, summaryCell(row.old), summaryCell(row.new), delta,
    p + " n=\(row.old.count)+\(row.new.count)", verdictCell(row.verdict),
  ]
}

func geomeanCells(_ table: MetricTable) -> [[String]] {
  guard let g = table.geomean else { return [] }
  return [["geomean", number(g.old), number(g.new), percent(g.delta), "", ""]]
}

func summaryCell(_ s: Summary) -> String {
  guard let low = s.low, let high = s.high else { return number(s.median) + " (no CI, n<6)" }
  return number(s.median) + " [" + number(low) + ", " + number(high) + "]"
}

func verdictCell(_ verdict: Verdict) -> String {
  switch verdict {
  case .regression: "REGRESSION"
  case .improvement: "improvement"
  case .belowThreshold: "below threshold"
  case .unchanged: ""
  }
}

func summary(_ comparison: Comparison, options: CompareOptions) -> [String] {
  let regressions = comparison.regressions
  var lines = [
    regressions.isEmpty
      ? "No regressions"
      : "\(regressions.count) regression\(regressions.count == 1 ? "" : "s"): "
        + regressions.map { "\($0.row.name) \($0.unit) \(change($0.row))" }
        .joined(separator: ", ")
  ]
  lines[0] +=
    " (threshold \(percent(options.threshold, signed: false)), alpha \(number(options.alpha))"
    + " with Holm-Bonferroni, exact tolerance \(number(options.exactTolerance))"
    + (options.floor > 0 ? ", floor \(number(options.floor))" : "") + ")."
  if !comparison.onlyInOld.isEmpty {
    lines.append("Only in old: " + comparison.onlyInOld.joined(separator: ", "))
  }
  if !comparison.onlyInNew.isEmpty {
    lines.append("Only in new: " + comparison.onlyInNew.joined(separator: ", "))
  }
  return lines
}

func percent(_ value: Double, signed: Bool = true) -> String {
  String(format: signed ? "%+.2f%%" : "%g%%", value * 100)
}

/// The relative change, or the absolute one where a median of 0 or below makes a ratio meaningless.
func change(_ row: Row) -> String {
  guard let delta = row.delta else { return signed(row.difference) + " (a median <= 0: no %)" }
  return percent(delta)
}

func signed(_ value: Double) -> String {
  value > 0 ? "+" + number(value) : number(value)
}

/// Four significant digits without an exponent; integers as integers.
func number(_ x: Double) -> String {
  let y = abs(x)
  if x == x.rounded() && y < 1e15 { return String(format: "%.0f", x) }
  switch y {
  case 1000...: return String(format: "%.0f", x)
  case 100...: return String(format: "%.1f", x)
  case 10...: return String(format: "%.2f", x)
  case 1...: return String(format: "%.3f", x)
  default: return String(format: "%.4g", x)
  }
}
