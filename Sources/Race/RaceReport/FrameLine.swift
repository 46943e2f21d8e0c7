/// Parses the text of a TSan stack frame after its `#N `:
/// `$s4racy4bumpyyF /src/Racy.swift:9:11 (racy-demo+0x10174a) (BuildId: 4c55...)`.
/// TSan separates function and location with a space, so a location is taken as the last
/// word; a function name may itself contain spaces (C++ operators).
enum FrameLine {
  static func parse(_ text: Substring) -> Frame {
    var rest = text
    _ = stripTrailingParenthesis(from: &rest, prefix: "BuildId: ")
    let module = stripTrailingParenthesis(from: &rest, prefix: nil).map(moduleName)
    let words = rest.split(separator: " ")
    guard words.count >= 2 else {
      return Frame(symbol: words.first.map(nullable) ?? nil, module: module)
    }
    let symbol = nullable(words.dropLast().joined(separator: " "))
    let location = parseLocation(words[words.count - 1])
    return Frame(
      symbol: symbol, file: location.file, line: location.line, column: location.column,
      module: module)
  }

  /// Removes a trailing ` (...)` group, returning its contents.
  private static func stripTrailingParenthesis(from text: inout Substring, prefix: String?)
    -> Substring?
  {
    let trimmed = text.trimmingTrailingSpaces()
    guard trimmed.hasSuffix(")"), let open = trimmed.lastIndex(of: "(") else { return nil }
    var contents = trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)]
    if let prefix {
      guard contents.hasPrefix(prefix) else { return nil }
      contents = contents.dropFirst(prefix.count)
    }
    text = trimmed[..<open].trimmingTrailingSpaces()
    return contents
  }

  /// `racy-demo+0x10174a` -> `racy-demo`; `<unknown module>` stays as is.
  private static func moduleName(_ text: Substring) -> String {
    guard let plus = text.lastIndex(of: "+") else { return String(text) }
    return String(text[..<plus])
  }

  private static func nullable<S: StringProtocol>(_ text: S) -> String? {
    text == "<null>" ? nil : String(text)
  }

  /// `file`, `file:line` or `file:line:col`; `<null>` is no file.
  private static func parseLocation(_ word: Substring) -> (file: String?, line: Int?, column: Int?)
  {
    guard let file = nullable(word) else { return (nil, nil, nil) }
    var parts = file.split(separator: ":", omittingEmptySubsequences: false)
    var numbers: [Int] = []
    while parts.count > 1, numbers.count < 2, let number = Int(parts[parts.count - 1]) {
      numbers.insert(number, at: 0)
      parts.removeLast()
    }
    let path = parts.joined(separator: ":")
    return (path, numbers.first, numbers.count > 1 ? numbers[1] : nil)
  }
}

extension Substring {
  func trimmingTrailingSpaces() -> Substring {
    var end = endIndex
    while end > startIndex, self[index(before: end)] == " " { end = index(before: end) }
    return self[startIndex..<end]
  }
}
