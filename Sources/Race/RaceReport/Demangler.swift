import Foundation
import Demangle

/// Turns a symbol TSan printed into a readable name; nil when it is not a Swift symbol.
public protocol Demangler: Sendable {
  func demangle(_ symbol: String) -> String?
}

/// Demangles in-process with the Swift runtime's own demangler, so the result always
/// matches the toolchain that built the program.
public struct SwiftRuntimeDemangler: Demangler {
  public init() {}

  public func demangle(_ symbol: String) -> String? {
    guard Demangle.Demangler.isSwift(symbol) else { return nil }
    let name = Demangle.Demangler.demangle(symbol)
    return name == symbol ? nil : SwiftNames.shorten(name)
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
