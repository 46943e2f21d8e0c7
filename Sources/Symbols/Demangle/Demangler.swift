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

  private static func cxx(_ symbol: String) -> String? {
    var status: Int32 = 0
    guard let result = __cxa_demangle(symbol, nil, nil, &status), status == 0 else { return nil }
    defer { free(result) }
    return String(cString: result)
  }
}
