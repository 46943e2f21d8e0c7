/// Answers from the on-disk `SymbolCache` where it has them, asks `base` about the
/// rest and stores the answers. Files without a build ID go straight to `base`:
/// a path with its size and mtime would also name a binary rebuilt in place within
/// the same second (tests, `swift build` loops), and every toolchain and distribution
/// library carries a build ID.
public struct PersistentSymbolizer: Symbolizer {
  public let base: Symbolizer
  public let cache: SymbolCache

  public init(_ base: Symbolizer, cache: SymbolCache) {
    self.base = base
    self.cache = cache
  }

  public func symbolize(addresses: [UInt64], inFile path: String) throws -> [[SourceFrame]] {
    guard let buildID = try? ELFFile(path: VirtualDSO.fileHolding(path)).buildID() else {
      return try base.symbolize(addresses: addresses, inFile: path)
    }
    var known = cache.load(buildID: buildID)
    let missing = Array(Set(addresses.filter { known[$0] == nil })).sorted()
    if !missing.isEmpty {
      for (address, frames) in zip(missing, try base.symbolize(addresses: missing, inFile: path)) { known[address] = frames }
      cache.store(known, buildID: buildID)
    }
    return addresses.map { known[$0] ?? [] }
  }
}
