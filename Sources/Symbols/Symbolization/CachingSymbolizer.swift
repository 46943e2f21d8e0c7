/// Remembers what another symbolizer answered, so that a profile rewritten while a
/// run goes on (checkpoints) asks only about addresses it has not seen before.
/// Not thread-safe: one thread at a time uses it.
public final class CachingSymbolizer: Symbolizer {
  private let base: Symbolizer
  private var known: [String: [UInt64: [SourceFrame]]] = [:]

  public init(_ base: Symbolizer) { self.base = base }

  public func symbolize(addresses: [UInt64], inFile path: String) throws -> [[SourceFrame]] {
    var cache = known[path, default: [:]]
    let missing = Array(Set(addresses.filter { cache[$0] == nil })).sorted()
    if !missing.isEmpty {
      let frames = try base.symbolize(addresses: missing, inFile: path)
      for (address, frames) in zip(missing, frames) { cache[address] = frames }
      known[path] = cache
    }
    return addresses.map { cache[$0] ?? [] }
  }
}
