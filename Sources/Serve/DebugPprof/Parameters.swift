/// The query parameters Go's handlers read, checked: a malformed value is a 400
/// with the reason (Go falls back to the default for `profile` and `trace`; a
/// scraper that sent `seconds=abc` would rather know).
struct Parameters {
  let query: [String: String]
  let maximumSeconds: Double

  /// `seconds`, nil when absent; a positive number of at most `maximumSeconds`.
  func seconds() throws(Refusal) -> Double? {
    guard let text = query["seconds"] else { return nil }
    guard let seconds = Double(text), seconds.isFinite, seconds > 0 else {
      throw .badRequest("invalid value for \"seconds\" parameter: \(text) (a positive number of seconds)")
    }
    guard seconds <= maximumSeconds else {
      throw .badRequest("seconds=\(text) is beyond this server's maximum of \(Int(maximumSeconds)) s")
    }
    return seconds
  }

  /// `debug` as Go's handlers read it, `strconv.Atoi` with its error ignored: any
  /// integer (0: the binary profile; else text, 2 or more: goroutine's full dump), a
  /// number too large saturating as Atoi's does, anything else 0.
  func debug() -> Int {
    Self.goAtoi(query["debug"] ?? "")
  }

  /// Go's `strconv.Atoi(text)` value whatever its error: an optional sign and decimal
  /// digits; out of range: Int.max or Int.min; not a number: 0.
  static func goAtoi(_ text: String) -> Int {
    var digits = Substring(text)
    let negative = digits.first == "-"
    if negative || digits.first == "+" { digits = digits.dropFirst() }
    guard !digits.isEmpty, digits.allSatisfy({ ("0"..."9").contains($0) }) else { return 0 }
    return Int(text.hasPrefix("+") ? String(digits) : text) ?? (negative ? Int.min : Int.max)
  }

  /// `seconds` and `debug` together, as Go refuses them.
  func delta() throws(Refusal) -> Double? {
    let seconds = try seconds()
    if seconds != nil, debug() != 0 { throw .badRequest("seconds and debug params are incompatible") }
    return seconds
  }
}
