/// One source-level frame of an address: the function and where in its source.
public struct SourceFrame: Equatable, Hashable, Sendable {
  /// The linkage (mangled) name, or "" when unknown.
  public var symbol: String
  public var file: String
  public var line: Int64
  public var column: Int64
  /// Where debug info declares the function: known even where its line is 0.
  public var startFile: String
  public var startLine: Int64

  public init(symbol: String, file: String = "", line: Int64 = 0, column: Int64 = 0, startFile: String = "",
              startLine: Int64 = 0) {
    self.symbol = symbol
    self.file = file
    self.line = line
    self.column = column
    self.startFile = startFile
    self.startLine = startLine
  }
}

/// Resolves addresses inside one ELF file (file virtual addresses, not run-time
/// pcs) to source frames, innermost inlined frame first, physical function last.
/// An address that cannot be resolved gets an empty array.
public protocol Symbolizer {
  func symbolize(addresses: [UInt64], inFile path: String) throws -> [[SourceFrame]]
}

public struct SymbolizerError: Error, CustomStringConvertible {
  public var description: String

  public init(_ description: String) { self.description = description }
}
