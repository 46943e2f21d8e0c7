import Pprof

/// The table of `pprof -top`: functions by flat (or cum) value, with their
/// shares of the total and the running sum of flat shares.
public struct TopReport: Sendable {
  public struct Row: Sendable, Equatable {
    public var name: String
    public var flat: Int64
    public var cum: Int64
    /// "(inline)" or "(partial-inline)" as pprof marks functions inlined into callers.
    public var inlineLabel: String
    /// The function's index in `CallStacks.functions`.
    public var function: Int
  }

  public struct Options: Sendable {
    public var count: Int?
    public var sortByCum = false
    /// pprof's -nodefraction: functions whose cum is below this share are dropped.
    public var minimumShare = 0.005

    public init(count: Int? = nil, sortByCum: Bool = false) {
      self.count = count
      self.sortByCum = sortByCum
    }
  }

  public private(set) var rows: [Row]
  public let total: Int64
  /// Functions dropped for being below the minimum share, and that cutoff.
  public private(set) var droppedCount = 0
  public let cutoff: Int64
  /// Functions left after dropping, before the count limit.
  public private(set) var candidateCount = 0

  /// The table pprof prints for this profile: when functions are left out (under
  /// the minimum share, past the count), the inline marks are those of the calls
  /// among the functions shown, as pprof decides them on its trimmed graph.
  public init(_ profile: Profile, _ stacks: CallStacks, valueIndex: Int, filter: SampleFilter = .all, options: Options) {
    let totals = FunctionTotals(profile, stacks, valueIndex: valueIndex, filter: filter)
    self.init(totals, stacks, options: options)
    guard rows.count < droppedCount + candidateCount else { return }  // every function shown: the whole graph's marks
    var kept = [Bool](repeating: false, count: stacks.functions.count)
    for row in rows { kept[row.function] = true }
    let kinds = FunctionTotals.callKinds(profile, stacks, valueIndex: valueIndex, filter: filter, kept: kept)
    for index in rows.indices {
      let function = rows[index].function
      rows[index].inlineLabel = Self.inlineLabel(calledInline: kinds.calledInline[function],
                                                 calledNotInline: kinds.calledNotInline[function])
    }
  }

  /// The table with inline marks from every call in the profile (the whole graph).
  public init(_ totals: FunctionTotals, _ stacks: CallStacks, options: Options) {
    total = totals.total
    cutoff = Int64(saturating: Double(total) * options.minimumShare).saturatingMagnitude
    var all: [Row] = []
    for (index, function) in stacks.functions.enumerated() where totals.cum[index] != 0 || totals.flat[index] != 0 {
      all.append(Row(name: function.name, flat: totals.flat[index], cum: totals.cum[index],
                     inlineLabel: Self.inlineLabel(calledInline: totals.calledInline[index],
                                                   calledNotInline: totals.calledNotInline[index]),
                     function: index))
    }
    let cutoff = self.cutoff
    let kept = all.filter { $0.cum.saturatingMagnitude >= cutoff }
    droppedCount = all.count - kept.count
    candidateCount = kept.count
    self.rows = kept.sorted(by: options.sortByCum ? Self.cumOrder : Self.flatOrder)
    if let count = options.count, count < self.rows.count { self.rows.removeSubrange(count...) }
  }

  private static func inlineLabel(calledInline: Bool, calledNotInline: Bool) -> String {
    guard calledInline else { return "" }
    return calledNotInline ? "(partial-inline)" : "(inline)"
  }

  private static func flatOrder(_ a: Row, _ b: Row) -> Bool {
    if a.flat.magnitude != b.flat.magnitude { return a.flat.magnitude > b.flat.magnitude }
    if a.name != b.name { return a.name < b.name }
    return a.cum.magnitude > b.cum.magnitude
  }

  private static func cumOrder(_ a: Row, _ b: Row) -> Bool {
    if a.cum.magnitude != b.cum.magnitude { return a.cum.magnitude > b.cum.magnitude }
    if a.name != b.name { return a.name < b.name }
    return a.flat.magnitude > b.flat.magnitude
  }

  /// The unit pprof would pick for this table.
  public func valueFormat(sampleUnit: String) -> ValueFormat {
    let smallest = rows.lazy.map { ($0.flat != 0 ? $0.flat : $0.cum).saturatingMagnitude }.filter { $0 > 0 }.min() ?? 0
    return ValueFormat(sampleUnit: sampleUnit, smallest: smallest, largest: total)
  }

  /// The summary lines and the table, formatted as `pprof -top` prints them;
  /// `header` holds the profile's lines and any active filters.
  public func render(header: [String], format: ValueFormat) -> String {
    let shown = Int64(clamping: rows.reduce(Int128(0)) { $0 &+ Int128($1.flat) })
    var lines = header
    lines.append("Showing nodes accounting for \(format.format(shown)), "
      + "\(percentage(shown, of: total).trimmingCharacters(in: .whitespaces)) of \(format.format(total)) total")
    if total != 0 && droppedCount > 0 {
      lines.append("Dropped \(droppedCount) node\(droppedCount > 1 ? "s" : "") (cum <= \(format.format(cutoff)))")
    }
    if total != 0 && !rows.isEmpty && rows.count < candidateCount {
      lines.append("Showing top \(rows.count) nodes out of \(candidateCount)")
    }
    lines.append(pad("flat", 10) + " " + pad("flat", 5) + "% " + pad("sum", 5) + "% " + pad("cum", 10) + " " + pad("cum", 5) + "%")
    var exactSum: Int128 = 0
    for row in rows {
      exactSum &+= Int128(row.flat)
      let sum = Int64(clamping: exactSum)
      let inline = row.inlineLabel.isEmpty ? "" : " " + row.inlineLabel
      lines.append(pad(format.format(row.flat), 10) + " " + percentage(row.flat, of: total) + " "
        + percentage(sum, of: total) + " " + pad(format.format(row.cum), 10) + " "
        + percentage(row.cum, of: total) + "  " + row.name + inline)
    }
    return lines.joined(separator: "\n") + "\n"
  }
}

/// Right-aligned in `width` columns, as Go's %10s.
func pad(_ text: String, _ width: Int) -> String {
  text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}
