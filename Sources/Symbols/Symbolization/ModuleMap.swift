import AgentStream

/// The executable segments of the target, for finding which one holds an address.
struct ModuleMap {
  /// In the order the agent reported them: the main executable first.
  let segments: [LoadedModule]
  private let byStart: [Int]  // indices into segments, sorted by start address

  init(_ modules: [LoadedModule]) {
    var unique: [LoadedModule] = []
    var seen = Set<LoadedModule>()
    for module in modules where seen.insert(module).inserted { unique.append(module) }
    segments = unique
    byStart = unique.indices.sorted { unique[$0].start < unique[$1].start }
  }

  func module(containing address: UInt64) -> LoadedModule? {
    index(containing: address).map { segments[$0] }
  }

  func index(containing address: UInt64) -> Int? {
    guard let index = byStart.lastIndex(startingAtOrBelow: address, start: { segments[$0].start }) else { return nil }
    let candidate = byStart[index]
    return segments[candidate].contains(address) ? candidate : nil
  }

  /// Indices of `addresses`, grouped by the segment that holds them, segments in order.
  func group(_ addresses: [UInt64]) -> [(segment: Int, indices: [Int])] {
    var groups: [Int: [Int]] = [:]
    for (index, address) in addresses.enumerated() {
      if let segment = self.index(containing: address) { groups[segment, default: []].append(index) }
    }
    return groups.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
  }
}
