import Foundation

/// A state machine over the lines of a byte stream that carries ThreadSanitizer reports,
/// possibly mixed with the program's own output. TSan frames each report as
///
///     ==================
///     WARNING: ThreadSanitizer: KIND (pid=N)
///       Block title:
///         #0 frame
///       ...
///     SUMMARY: ThreadSanitizer: ...
///     ==================
///
/// Report lines other than the markers are indented, so an unindented line inside a
/// report is the program's (counted in `foreignLines`, never parsed as TSan's). Every
/// WARNING starts a report, whatever its kind, and a report cut off by the end of the
/// stream is still returned.
public struct TSanParser: Sendable {
  public struct Result: Equatable, Sendable {
    public var reports: [Report]
    /// Sum of TSan's closing "ThreadSanitizer: reported N warnings" lines; more than
    /// `reports.count` means reports were lost (e.g. a truncated log).
    public var announcedWarnings: Int
    public var foreignLines: Int
    /// TSan's own failures outside reports ("ThreadSanitizer: failed to parse
    /// suppressions."): it then ends the program with 66, the code of a report.
    public var runtimeMessages: [String]

    public init(reports: [Report] = [], announcedWarnings: Int = 0, foreignLines: Int = 0, runtimeMessages: [String] = []) {
      self.reports = reports
      self.announcedWarnings = announcedWarnings
      self.foreignLines = foreignLines
      self.runtimeMessages = runtimeMessages
    }

    /// Adds another stream's results (another process's log).
    public mutating func append(_ other: Result) {
      reports += other.reports
      announcedWarnings += other.announcedWarnings
      foreignLines += other.foreignLines
      runtimeMessages += other.runtimeMessages
    }
  }

  private static let warning = "WARNING: ThreadSanitizer: "
  private static let summary = "SUMMARY: ThreadSanitizer: "
  private static let separator = "=================="
  private static let runtime = "ThreadSanitizer: "
  private static let reported = runtime + "reported "

  private var result = Result()
  private var current: Report?
  private var partialLine: [UInt8] = []

  public init() {}

  public static func parse(_ text: String) -> Result {
    var parser = TSanParser()
    parser.feed(Array(text.utf8))
    return parser.finish()
  }

  /// Accepts bytes as they arrive; lines may be split across calls.
  public mutating func feed(_ bytes: [UInt8]) {
    var start = 0
    while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
      partialLine.append(contentsOf: bytes[start..<newline])
      consume(line: String(decoding: partialLine, as: UTF8.self))
      partialLine.removeAll(keepingCapacity: true)
      start = newline + 1
    }
    partialLine.append(contentsOf: bytes[start...])
  }

  public mutating func finish() -> Result {
    if !partialLine.isEmpty {
      consume(line: String(decoding: partialLine, as: UTF8.self))
      partialLine.removeAll()
    }
    closeReport()
    return result
  }

  public mutating func consume(line: String) {
    if let marker = line.range(of: Self.warning) {
      countForeign(line[..<marker.lowerBound])
      closeReport()
      current = Self.openReport(line[marker.upperBound...])
    } else if current == nil {
      consumeOutside(line)
    } else if let marker = line.range(of: Self.summary) {
      countForeign(line[..<marker.lowerBound])
      current?.summary = String(line[marker.upperBound...])
      closeReport()
    } else if line.hasSuffix(Self.separator) {
      countForeign(line.dropLast(Self.separator.count))
      closeReport()
    } else {
      consumeInside(line[...])
    }
  }

  private mutating func consumeOutside(_ line: String) {
    guard let marker = line.range(of: Self.reported) else {
      if line.hasPrefix(Self.runtime) || line.hasPrefix("FATAL: " + Self.runtime) { result.runtimeMessages.append(line) }
      return
    }
    let count = line[marker.upperBound...].prefix { $0.isNumber }
    result.announcedWarnings += Int(count) ?? 0
  }

  private mutating func consumeInside(_ line: Substring) {
    let text = line.drop { $0 == " " }
    if text.isEmpty { return }
    guard text.startIndex != line.startIndex else {
      result.foreignLines += 1
      return
    }
    if let frameText = Self.frameText(text) {
      appendFrame(FrameLine.parse(frameText))
    } else if text.hasPrefix("("), let last = current?.blocks.indices.last,
      current?.blocks[last].frames.isEmpty == true
    {
      // A long header continues on the next line: "    (mutexes: write M1):".
      current?.blocks[last].title += " " + Self.untitled(text)
    } else {
      current?.blocks.append(Block(title: Self.untitled(text)))
    }
  }

  /// `#12 rest` -> `rest`; nil when the line is not a frame.
  private static func frameText(_ text: Substring) -> Substring? {
    guard text.hasPrefix("#") else { return nil }
    let digits = text.dropFirst().prefix { $0.isNumber }
    guard !digits.isEmpty, text[digits.endIndex...].hasPrefix(" ") else { return nil }
    return text[digits.endIndex...].dropFirst()
  }

  private static func untitled(_ text: Substring) -> String {
    String(text.hasSuffix(":") ? text.dropLast() : text)
  }

  private mutating func appendFrame(_ frame: Frame) {
    guard var report = current else { return }
    current = nil  // so that appending does not copy the blocks
    // A stack right under the WARNING line (signal-unsafe call) has no title.
    if report.blocks.isEmpty { report.blocks.append(Block(title: "")) }
    report.blocks[report.blocks.count - 1].frames.append(frame)
    current = report
  }

  /// `data race (pid=5793)` -> kind "data race", pid 5793.
  private static func openReport(_ text: Substring) -> Report {
    let pidPrefix = " (pid="
    guard let open = text.range(of: pidPrefix, options: .backwards), text.hasSuffix(")") else {
      return Report(kind: String(text))
    }
    let pid = Int(text[open.upperBound..<text.index(before: text.endIndex)])
    return Report(kind: String(text[..<open.lowerBound]), pid: pid)
  }

  private mutating func closeReport() {
    guard let report = current else { return }
    result.reports.append(report)
    current = nil
  }

  private mutating func countForeign(_ prefix: Substring) {
    if !prefix.isEmpty { result.foreignLines += 1 }
  }
}
