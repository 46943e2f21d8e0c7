import CSwiftDemangle
import Foundation

/// Turns a symbol TSan printed into a readable name; nil when it is not a Swift symbol.
public protocol Demangler: Sendable {
  func demangle(_ symbol: String) -> String?
}

/// Demangles in-process with the Swift runtime's own demangler, so the result always
/// matches the toolchain that built the program.
public struct SwiftRuntimeDemangler: Demangler {
  public init() {}

  public func demangle(_ symbol: String) -> String? {
    let utf8 = Array(symbol.utf8)
    guard let demangled = swift_demangle(utf8, utf8.count, nil, nil, 0) else { return nil }
    defer { free(demangled) }
    return SwiftNames.shorten(String(cString: demangled))
  }
}

extension Report {
  /// Replaces frame functions and quoted symbols in titles ("Location is global
  /// '$s4racy7counterSivp'") with demangled names.
  public func demangled(by demangler: Demangler) -> Report {
    var copy = self
    for index in copy.blocks.indices {
      copy.blocks[index].title = Self.demangleQuoted(copy.blocks[index].title, demangler)
      for frameIndex in copy.blocks[index].frames.indices {
        let frame = copy.blocks[index].frames[frameIndex]
        if let symbol = frame.symbol, let name = demangler.demangle(symbol) {
          copy.blocks[index].frames[frameIndex].function = name
        }
      }
    }
    return copy
  }

  private static func demangleQuoted(_ title: String, _ demangler: Demangler) -> String {
    let parts = title.split(separator: "'", omittingEmptySubsequences: false)
    guard parts.count >= 3 else { return title }
    // Odd-numbered parts are quoted.
    return parts.enumerated().map { index, part in
      index.isMultiple(of: 2) ? String(part) : demangler.demangle(String(part)) ?? String(part)
    }.joined(separator: "'")
  }
}

/// Shortens the runtime demangler's full form for reports: result types and closure
/// signatures go, module qualification stays.
///   "racy.bump() -> ()" -> "racy.bump()"
///   "closure #1 @Sendable () -> () in racy.work() -> ()" -> "closure #1 in racy.work()"
///   "racy.counter : Swift.Int" -> "racy.counter"
///   "(1) suspend resume partial function for racy.work() async -> ()" -> "racy.work() async"
enum SwiftNames {
  static func shorten(_ name: String) -> String {
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
