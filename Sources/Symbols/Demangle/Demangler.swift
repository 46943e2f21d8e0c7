import CDemangle
import Glibc

/// Readable names for Swift and C++ symbols; anything else is returned unchanged.
public enum Demangler {
  public static func demangle(_ symbol: String) -> String {
    if isSwift(symbol) { return swift(symbol) ?? symbol }
    if symbol.hasPrefix("_Z") { return cxx(symbol) ?? symbol }
    return symbol
  }

  /// The name people read in reports: Swift names without result types and
  /// closure signatures ("spin.hotLoop(Swift.Int)"), C++ names demangled.
  public static func readableName(_ symbol: String) -> String {
    let name = demangle(symbol)
    return isSwift(symbol) && name != symbol ? SwiftNames.shorten(name) : name
  }

  public static func isSwift(_ symbol: String) -> Bool {
    ["$s", "_$s", "$S", "_$S", "$e", "_$e", "_T0"].contains { symbol.hasPrefix($0) }
  }

  private static func swift(_ symbol: String) -> String? {
    symbol.withCString { name in
      guard let result = swift_demangle(name, strlen(name), nil, nil, 0) else { return nil }
      defer { free(result) }
      return String(cString: result)
    }
  }

  /// C++ names as __cxa_demangle gives them ("f(int) [clone .cold.1]"), and also the
  /// functions Swift's LLVM merged: MergeFunctions appends "Tm" to the one body it
  /// keeps, which the Itanium grammar does not allow ("f(int) [merged]").
  private static func cxx(_ symbol: String) -> String? {
    if let name = cxaDemangle(symbol) { return name }
    let clones = symbol.firstIndex(of: ".").map { symbol[$0...] } ?? ""
    let base = symbol.dropLast(clones.count)
    // __cxa_demangle writes the clone suffixes, one bracket each; "[merged]" goes before them.
    guard base.hasSuffix("Tm"), let name = cxaDemangle(String(base.dropLast(2)) + clones) else { return nil }
    guard let firstClone = name.firstRange(of: " [clone ") else { return name + " [merged]" }
    return name[..<firstClone.lowerBound] + " [merged]" + name[firstClone.lowerBound...]
  }

  private static func cxaDemangle(_ symbol: String) -> String? {
    var status: Int32 = 0
    guard let result = __cxa_demangle(symbol, nil, nil, &status), status == 0 else { return nil }
    defer { free(result) }
    return String(cString: result)
  }
}
