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

  /// `debug`: 0 (absent) for the binary profile, else text.
  func debug() throws(Refusal) -> Int {
    guard let text = query["debug"], !text.isEmpty else { return 0 }
    guard let level = Int(text), level >= 0 else { throw .badRequest("invalid value for \"debug\" parameter: \(text) (0, 1 or 2)") }
    return level
  }

  /// `seconds` and `debug` together, as Go refuses them.
  func delta() throws(Refusal) -> Double? {
    let seconds = try seconds()
    if seconds != nil, try debug() != 0 { throw .badRequest("seconds and debug params are incompatible") }
    return seconds
  }
}
