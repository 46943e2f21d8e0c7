/// Shortens the runtime demangler's full form for reports: result types and closure
/// signatures go, module qualification stays.
///   "racy.bump() -> ()" -> "racy.bump()"
///   "closure #1 @Sendable () -> () in racy.work() -> ()" -> "closure #1 in racy.work()"
///   "racy.counter : Swift.Int" -> "racy.counter"
///   "(1) suspend resume partial function for racy.work() async -> ()" -> "racy.work() async"
public enum SwiftNames {
  public static func shorten(_ name: String) -> String {
    // An async function's pieces are all the same function to a reader.
    let name = name.replacing(#/^\(\d+\) (suspend|await) resume partial function for /#, with: "")
    return splitTopLevel(name, on: " in ").map(shortenEntity).joined(separator: " in ")
  }

  private static func shortenEntity(_ entity: Substring) -> String {
    if let closure = entity.firstMatch(of: /closure #\d+/) {
      return String(entity[..<closure.range.upperBound])
    }
    let withoutResult = splitTopLevel(entity, on: " -> ")[0]
    return String(splitTopLevel(withoutResult, on: " : ")[0])
  }

  /// Splits on `separator` where it is outside (), [] and <>.
  private static func splitTopLevel(_ text: some StringProtocol, on separator: String)
    -> [Substring]
  {
    let text = Substring(text)
    var parts: [Substring] = []
    var depth = 0
    var start = text.startIndex
    var index = text.startIndex
    while index < text.endIndex {
      let character = text[index]
      if "([<".contains(character) {
        depth += 1
      } else if ")]".contains(character) || (character == ">" && !text[..<index].hasSuffix("-")) {
        depth = max(0, depth - 1)
      }
      if depth == 0, text[index...].hasPrefix(separator) {
        parts.append(text[start..<index])
        index = text.index(index, offsetBy: separator.count)
        start = index
      } else {
        index = text.index(after: index)
      }
    }
    parts.append(text[start...])
    return parts
  }
}
