import AgentStream

/// Finds modules built without frame pointers from the stacks a frame-pointer walk
/// gave. In such code the walk reads a frame pointer that is not one: the stack ends
/// at its leaf (the agent finds no return address in mapped code) or goes on through
/// values that are not return addresses (dropped by `StackSymbolizer`). A walk
/// through code with frame pointers always reaches at least the leaf's caller.
public enum FramePointerCheck {
  /// Stacks of less weight tell too little. Few are enough: through code with frame
  /// pointers a stack is one frame deep almost never (a 0.2 s run has about 20 samples).
  static let minimumWeight: UInt64 = 10

  /// Paths of the modules where most of the weight of the stacks whose leaf is
  /// there comes out as the leaf alone, in the order the agent reported them.
  static func modulesWithoutFramePointers(
    _ stacks: [(frames: [UInt64], weight: UInt64)], modules: [LoadedModule],
    hiddenModule: (LoadedModule) -> Bool = StackSymbolizer.isAgent
  ) -> [String] {
    let map = ModuleMap(modules)
    var weight: [Int: (all: UInt64, leafOnly: UInt64)] = [:]
    for (frames, stackWeight) in stacks {
      let located = frames.map(map.index(containing:)).filter { $0.map { !hiddenModule(map.segments[$0]) } ?? true }
      guard let leaf = located.first ?? nil else { continue }  // a leaf in no module says nothing of one
      weight[leaf, default: (0, 0)].all &+= stackWeight
      if located.count(where: { $0 != nil }) == 1 { weight[leaf, default: (0, 0)].leafOnly &+= stackWeight }
    }
    return weight.filter { $0.value.all >= minimumWeight && $0.value.leafOnly > $0.value.all / 2 }
      .keys.sorted().map { map.segments[$0].path }
  }

  /// One line per such module, for stacks a frame-pointer walk gave.
  public static func warnings(_ stacks: [(frames: [UInt64], weight: UInt64)], modules: [LoadedModule]) -> [String] {
    modulesWithoutFramePointers(stacks, modules: modules).map { path in
      let name = path.split(separator: "/").last.map(String.init) ?? path
      return "most stacks in \(name) end at their first frame: it was built without frame pointers, which --unwind fp follows; --unwind libunwind gives its callers"
    }
  }
}
