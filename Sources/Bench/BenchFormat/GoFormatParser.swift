import Foundation
import OutputFile

/// Reads the Go benchmark format (golang.org/design/14313-benchmark-format)
/// with the rules of golang.org/x/perf/benchfmt: a line starting with
/// "Benchmark" is a result and must be well formed; "Unit" lines carry unit
/// metadata; `key: value` lines are configuration; every other line (PASS,
/// ok, build output) is ignored.
public enum GoFormatParser {
  /// Parses `text`; `file` names the input in errors.
  public static func parse(_ text: String, file: String) throws(FormatError) -> BenchmarkFile {
    var parsed = BenchmarkFile()
    var lineNumber = 0
    for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
      lineNumber += 1
      let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
      do throws(LineError) {
        try parseLine(line, into: &parsed)
      } catch {
        throw FormatError(file: file, line: lineNumber, message: error.message)
      }
    }
    return parsed
  }

  /// Benchmark results are text of kilobytes; a larger input is not one (`/dev/zero`).
  public static let maximumFileSize = 1 << 30

  /// Parses a file as UTF-8 text, or as the JSON form when it starts with '{'.
  public static func load(path: String) throws(FormatError) -> BenchmarkFile {
    let data: Data
    do {
      data = Data(try FileContents.read(path, limit: maximumFileSize, check: notUTF8Text))
    } catch {
      throw FormatError(file: path, line: 0, message: error.kind == .unreadable ? "cannot read file: \(error.reason)" : error.reason)
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw FormatError(file: path, line: 0, message: "not UTF-8 text")
    }
    if text.drop(while: \.isWhitespace).first == "{" {
      return try JSONFormat.decode(data, file: path)
    }
    return try parse(text, file: path)
  }

  /// Text that is not UTF-8 shows it in its first bytes (`/dev/urandom`): the first
  /// 64 KiB are checked as they arrive, a character cut at their end allowed.
  private static func notUTF8Text(_ bytesSoFar: [UInt8]) -> String? {
    guard bytesSoFar.count <= 1 << 17 else { return nil }
    let checked = bytesSoFar.prefix(1 << 16)
    for cut in 0...min(3, checked.count) where String(validating: checked.dropLast(cut), as: UTF8.self) != nil {
      return nil
    }
    return "not UTF-8 text"
  }

  struct LineError: Error {
    var message: String
  }

  static func parseLine(_ line: Substring, into file: inout BenchmarkFile) throws(LineError) {
    if line.hasPrefix("Benchmark") {
      file.results.append(try parseResult(line.dropFirst("Benchmark".count)))
    } else if let rest = unitLineRest(line) {
      try parseUnitLine(rest, into: &file.units)
    } else if let (key, value) = configLine(line) {
      file.config.removeAll { $0.key == key }
      if !value.isEmpty { file.config.append(ConfigEntry(key, value)) }
    }
  }

  static func parseResult(_ line: Substring) throws(LineError) -> BenchmarkResult {
    var fields = line.split(whereSeparator: \.isWhitespace)[...]
    // The name directly follows "Benchmark"; "Benchmark 10 ..." has an empty name.
    let name = line.first?.isWhitespace == false ? String(fields.removeFirst()) : ""
    guard let iterationField = fields.popFirst() else {
      throw LineError(message: "missing iteration count")
    }
    guard let iterations = Int(iterationField), iterations >= 0 else {
      throw LineError(message: "parsing iteration count: invalid syntax: \(iterationField)")
    }
    guard !fields.isEmpty else { throw LineError(message: "missing measurements") }
    var measurements: [Measurement] = []
    while let valueField = fields.popFirst() {
      guard let value = Double(valueField), value.isFinite else {
        throw LineError(message: "parsing measurement: invalid number: \(valueField)")
      }
      guard let unit = fields.popFirst() else {
        throw LineError(message: "missing units after \(valueField)")
      }
      measurements.append(Measurement(value, String(unit)))
    }
    return BenchmarkResult(name: name, iterations: iterations, measurements: measurements)
  }

  static func unitLineRest(_ line: Substring) -> Substring? {
    guard line.hasPrefix("Unit") else { return nil }
    let rest = line.dropFirst("Unit".count)
    if rest.isEmpty { return rest }
    return rest.first!.isWhitespace ? rest : nil
  }

  static func parseUnitLine(
    _ rest: Substring, into units: inout [String: UnitMetadata]
  ) throws(LineError) {
    var fields = rest.split(whereSeparator: \.isWhitespace)[...]
    guard let unit = fields.popFirst().map(String.init) else {
      throw LineError(message: "missing unit")
    }
    var metadata = units[unit] ?? UnitMetadata()
    for field in fields {
      guard let eq = field.firstIndex(of: "="), eq != field.startIndex else {
        throw LineError(message: "expected key=value, found \(field)")
      }
      let key = field[..<eq]
      let value = field[field.index(after: eq)...]
      switch (key, value) {
      case ("better", "higher"): metadata.better = .higher
      case ("better", "lower"): metadata.better = .lower
      case ("assume", "exact"): metadata.exact = true
      case ("assume", "nothing"): metadata.exact = false
      case ("better", _), ("assume", _):
        throw LineError(message: "invalid \(key) value \(value) for unit \(unit)")
      default: continue  // Other metadata keys are legal and not used here.
      }
    }
    units[unit] = metadata
  }

  /// A configuration line: a key that starts with a lower-case letter and has
  /// no space or upper-case letter, a colon, then optional blanks and a value.
  static func configLine(_ line: Substring) -> (String, String)? {
    guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
      line.first!.isLowercase,
      !line[..<colon].contains(where: { $0.isWhitespace || $0.isUppercase })
    else { return nil }
    let afterColon = line[line.index(after: colon)...]
    let value = afterColon.drop { $0 == " " || $0 == "\t" }
    // "key:value" with no blank is not a config line, but "key:" (delete) is.
    if !afterColon.isEmpty && value.count == afterColon.count { return nil }
    return (String(line[..<colon]), String(value))
  }
}
