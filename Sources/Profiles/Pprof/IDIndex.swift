/// The position of each id in a list of mapping, location or function ids. Writers
/// number ids 1...n, so a plain array usually serves and a million samples' stacks
/// are resolved without hashing; sparse ids fall back to a dictionary.
public struct IDIndex: Sendable {
  private var dense: [Int32] = []
  private var sparse: [UInt64: Int32] = [:]
  /// The first id that occurs twice, whose later positions are ignored.
  public private(set) var duplicate: UInt64?

  public init(_ ids: [UInt64]) {
    let maximum = ids.max() ?? 0
    if maximum <= UInt64(ids.count) * 4 + 1024 {
      dense = [Int32](repeating: -1, count: Int(maximum) + 1)
    }
    for (position, id) in ids.enumerated() where !insert(id, at: Int32(position)) && duplicate == nil {
      duplicate = id
    }
  }

  private mutating func insert(_ id: UInt64, at position: Int32) -> Bool {
    if dense.isEmpty { return sparse.updateValue(sparse[id] ?? position, forKey: id) == nil }
    guard dense[Int(id)] < 0 else { return false }
    dense[Int(id)] = position
    return true
  }

  @inline(__always)
  public subscript(id: UInt64) -> Int? {
    if dense.isEmpty { return sparse[id].map(Int.init) }
    guard id < UInt64(dense.count) else { return nil }
    let position = dense[Int(id)]
    return position < 0 ? nil : Int(position)
  }
}
