/// The report for people: one entry per finding, the two conflicting stacks side by side,
/// runtime frames folded, threads with their names and creation sites.
public struct TextRenderer: Sendable {
  public var paths: SourcePaths

  public init(paths: SourcePaths) {
    self.paths = paths
  }

  public func render(_ analysis: RaceAnalysis) -> String {
    var lines = [headline(analysis)]
    // TSan's own failure ends the program with 66, which must not pass for a report.
    lines += analysis.runtimeMessages.map { "prof race: ThreadSanitizer itself failed: " + $0 }
    if analysis.unparsedReports > 0 {
      lines.append(
        "warning: TSan announced \(analysis.unparsedReports) more report(s) than could be read")
    }
    for (index, finding) in analysis.findings.enumerated() {
      lines.append("")
      lines += render(finding, number: index + 1)
    }
    return lines.joined(separator: "\n") + "\n"
  }

  private func headline(_ analysis: RaceAnalysis) -> String {
    let findings = analysis.findings.count
    guard findings > 0 else { return "prof race: no ThreadSanitizer reports" }
    return "prof race: \(plural(findings, "distinct problem")) in "
      + "\(plural(analysis.reportCount, "ThreadSanitizer report"))"
  }

  func render(_ finding: Finding, number: Int) -> [String] {
    var title = "[\(number)] \(finding.kinds.joined(separator: " / "))"
    if let location = finding.location { title += " on \(location)" }
    title += " (\(plural(finding.occurrences, "report")))"
    let columns = finding.stacks.map(stackLines)
    let body = columns.count == 2 ? sideBySide(columns[0], columns[1]) : columns.flatMap { $0 }
    return [title] + (finding.notes + body + threadLines(finding)).map { "  " + $0 }
  }

  private func stackLines(_ stack: Stack) -> [String] {
    [stack.title] + folded(stack.frames).map { "  " + $0 }
  }

  /// User frames as they are; each run of other frames as one "… N runtime frames".
  func folded(_ frames: [Frame]) -> [String] {
    var lines: [String] = []
    var hidden = 0
    for frame in frames {
      if frame.isUserCode {
        if hidden > 0 { lines.append("… \(plural(hidden, "runtime frame"))") }
        hidden = 0
        lines.append(describe(frame))
      } else {
        hidden += 1
      }
    }
    if hidden > 0 { lines.append("… \(plural(hidden, "runtime frame"))") }
    return lines
  }

  func describe(_ frame: Frame) -> String {
    guard let file = frame.file else { return frame.function }
    let position = [frame.line, frame.column].compactMap { $0 }.map { ":\($0)" }.joined()
    return "\(frame.function)  \(paths.display(file))\(position)"
  }

  private func threadLines(_ finding: Finding) -> [String] {
    var seen: Set<String> = []
    return finding.stacks.compactMap(\.thread).compactMap { thread in
      guard seen.insert(thread.id).inserted, let creator = thread.createdBy else { return nil }
      let site = thread.creationSite.map { " at \(describe($0))" }
      return "\(thread.label) created by \(creator)\(site ?? "")"
    }
  }

  private func sideBySide(_ left: [String], _ right: [String]) -> [String] {
    let width = left.map(\.count).max() ?? 0
    return (0..<max(left.count, right.count)).map { row in
      let cell = row < left.count ? left[row] : ""
      let other = row < right.count ? right[row] : ""
      let line = cell + String(repeating: " ", count: width - cell.count) + " │ " + other
      return String(Substring(line).trimmingTrailingSpaces())
    }
  }

  private func plural(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
  }
}
