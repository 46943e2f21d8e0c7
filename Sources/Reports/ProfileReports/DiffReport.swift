import Pprof

/// Functions by how much their flat (or cum) value changed from a base profile
/// to a new one: raw differences, as pprof's -diff_base shows them.
public struct DiffReport: Sendable {
  public struct Row: Sendable, Equatable {
    public var name: String
    public var base: (flat: Int64, cum: Int64)
    public var new: (flat: Int64, cum: Int64)
    public var flatChange: Int64 { new.flat.subtractingSaturating(base.flat) }
    public var cumChange: Int64 { new.cum.subtractingSaturating(base.cum) }

    public static func == (a: Row, b: Row) -> Bool {
      a.name == b.name && a.base == b.base && a.new == b.new
    }
  }

  public private(set) var rows: [Row]
  public let baseTotal: Int64
  public let newTotal: Int64

  public init(base: (totals: FunctionTotals, stacks: CallStacks), new: (totals: FunctionTotals, stacks: CallStacks),
              count: Int?, sortByCum: Bool) {
    baseTotal = base.totals.total
    newTotal = new.totals.total
    var byName: [String: Row] = [:]
    for (side, isNew) in [(base, false), (new, true)] {
      for (index, function) in side.stacks.functions.enumerated() {
        let values = (side.totals.flat[index], side.totals.cum[index])
        var row = byName[function.name] ?? Row(name: function.name, base: (0, 0), new: (0, 0))
        if isNew { row.new = values } else { row.base = values }
        byName[function.name] = row
      }
    }
    let key: (Row) -> Int64 = sortByCum ? { $0.cumChange.saturatingMagnitude } : { $0.flatChange.saturatingMagnitude }
    rows = byName.values.filter { $0.flatChange != 0 || $0.cumChange != 0 }
      .sorted { key($0) != key($1) ? key($0) > key($1) : $0.name < $1.name }
    if let count, count < rows.count { rows.removeSubrange(count...) }
  }

  public func render(header: [String], format: ValueFormat) -> String {
    func signed(_ value: Int64) -> String { value > 0 ? "+" + format.format(value) : format.format(value) }
    func change(_ value: Int64, of base: Int64) -> String {
      base == 0 ? (value == 0 ? "" : "new") : String(format: "%+.1f%%", Double(value) / Double(base) * 100)
    }
    var lines = header
    lines.append("Total: base \(format.format(baseTotal)), new \(format.format(newTotal)) (\(signed(newTotal.subtractingSaturating(baseTotal))), "
      + "\(change(newTotal.subtractingSaturating(baseTotal), of: baseTotal)))")
    lines.append(pad("flat Δ", 10) + " " + pad("", 7) + " " + pad("cum Δ", 10) + " " + pad("", 7) + " "
      + pad("flat base", 10) + " " + pad("flat new", 10) + " " + pad("cum base", 10) + " " + pad("cum new", 10))
    for row in rows {
      lines.append([pad(signed(row.flatChange), 10), pad(change(row.flatChange, of: row.base.flat), 7),
                    pad(signed(row.cumChange), 10), pad(change(row.cumChange, of: row.base.cum), 7),
                    pad(format.format(row.base.flat), 10), pad(format.format(row.new.flat), 10),
                    pad(format.format(row.base.cum), 10), pad(format.format(row.new.cum), 10)].joined(separator: " ")
        + "  " + row.name)
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// The unit for the table, chosen from its smallest change as pprof's -top does.
  public func valueFormat(sampleUnit: String) -> ValueFormat {
    let smallest = rows.lazy.map { ($0.flatChange != 0 ? $0.flatChange : $0.cumChange).saturatingMagnitude }.filter { $0 > 0 }.min() ?? 0
    return ValueFormat(sampleUnit: sampleUnit, smallest: smallest, largest: max(baseTotal, newTotal))
  }
}
