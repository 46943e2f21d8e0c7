import Pprof

/// Samples merged into a tree of call paths from the root: what flame graphs draw
/// and folded stacks list. Node 0 is the root; children are sorted by name, so
/// every rendering of the same profile is the same.
public struct CallTree: Sendable {
  public struct Node: Sendable, Equatable {
    /// Index into `functions`; -1 for the root.
    public var function: Int32
    /// Value of the samples through this node, and of those ending here.
    public var total: Int64 = 0
    public var selfValue: Int64 = 0
    public var children: [Int32] = []
  }

  public private(set) var nodes = [Node(function: -1)]
  /// Each node's exact sums (128 bits), which its Int64 values are clamped from: the
  /// result does not depend on the order samples came in, as saturating each step would.
  private var exact: [(total: Int128, selfValue: Int128)] = [(0, 0)]
  public let functions: [CallStacks.FunctionInfo]
  /// (parent node << 32 | function) -> child node, while the tree is being built.
  private var childIndex: [UInt64: Int32] = [:]

  public var root: Node { nodes[0] }

  /// One tree over every kept sample.
  public init(_ profile: Profile, _ stacks: CallStacks, valueIndex: Int, filter: SampleFilter = .all) {
    self.init(stacks)
    var stack: [Int32] = []
    for sample in profile.samples where filter.keeps(sample, stacks) {
      add(sample, value: sample.values[valueIndex], stacks, buffer: &stack)
    }
    finish()
  }

  /// One tree per value of a string label (e.g. thread_comm), sorted by label;
  /// samples without it are grouped under `missing`.
  public static func grouped(_ profile: Profile, _ stacks: CallStacks, valueIndex: Int, filter: SampleFilter = .all,
                             byLabel key: String, missing: String) -> [(label: String, tree: CallTree)] {
    var trees: [String: CallTree] = [:]
    var stack: [Int32] = []
    for sample in profile.samples where filter.keeps(sample, stacks) {
      let label = sample.labels.lazy.compactMap { label -> String? in
        guard label.key == key, case .string(let value) = label.value else { return nil }
        return value
      }.first ?? missing
      trees[label, default: CallTree(stacks)].add(sample, value: sample.values[valueIndex], stacks, buffer: &stack)
    }
    return trees.keys.sorted().map { label in
      var tree = trees[label]!
      tree.finish()
      return (label, tree)
    }
  }

  /// A tree from stacks given as function names, root first (folded stacks).
  public init(functions: [CallStacks.FunctionInfo]) {
    self.functions = functions
  }

  private init(_ stacks: CallStacks) {
    functions = stacks.functions
  }

  public func name(of node: Node) -> String { node.function < 0 ? "" : functions[Int(node.function)].name }

  /// Adds `value` along a path of function indices, root first.
  public mutating func add(path: some Sequence<Int32>, value: Int64) {
    let wide = Int128(value)
    var node = 0
    addToTotal(of: 0, wide)
    for function in path {
      let key = UInt64(node) << 32 | UInt64(UInt32(function))
      if let child = childIndex[key] {
        node = Int(child)
      } else {
        nodes.append(Node(function: function))
        exact.append((0, 0))
        let child = Int32(nodes.count - 1)
        nodes[node].children.append(child)
        childIndex[key] = child
        node = Int(child)
      }
      addToTotal(of: node, wide)
    }
    exact[node].selfValue &+= wide
    nodes[node].selfValue = Int64(clamping: exact[node].selfValue)
  }

  private mutating func addToTotal(of node: Int, _ value: Int128) {
    exact[node].total &+= value
    nodes[node].total = Int64(clamping: exact[node].total)
  }

  /// Sorts children by name and lets go of the building index.
  public mutating func finish() {
    childIndex = [:]
    for index in nodes.indices where nodes[index].children.count > 1 {
      let names = nodes[index].children.map { name(of: nodes[Int($0)]) }
      nodes[index].children = zip(nodes[index].children, names).sorted { $0.1 < $1.1 }.map(\.0)
    }
  }

  /// Visits every node below the root, depth first in child order, with its path of
  /// node indices (root's child first). Iterative: stacks may be a million frames deep.
  public func walk(_ visit: (_ path: [Int], _ node: Node) -> Void) {
    var path: [Int] = []
    var pending = root.children.reversed().map { (node: Int($0), depth: 0) }
    while let (index, depth) = pending.popLast() {
      path.removeSubrange(depth...)
      path.append(index)
      visit(path, nodes[index])
      for child in nodes[index].children.reversed() { pending.append((Int(child), depth + 1)) }
    }
  }

  private mutating func add(_ sample: Sample, value: Int64, _ stacks: CallStacks, buffer: inout [Int32]) {
    guard value != 0 else { return }
    stacks.rootFirstFunctions(of: sample, into: &buffer)
    add(path: buffer, value: value)
  }
}

extension CallTree {
  /// Per node, the total of the same call path (matched by function name) in
  /// `other`, 0 where `other` has no such path: the base of a differential graph.
  public func totals(ofSamePathsIn other: CallTree) -> [Int64] {
    var result = [Int64](repeating: 0, count: nodes.count)
    var pending = [(index: 0, otherIndex: 0)]
    while let (index, otherIndex) = pending.popLast() {
      result[index] = other.nodes[otherIndex].total
      let otherChildren = Dictionary(other.nodes[otherIndex].children.map { (other.name(of: other.nodes[Int($0)]), Int($0)) },
                                     uniquingKeysWith: { first, _ in first })
      for child in nodes[index].children {
        if let otherChild = otherChildren[name(of: nodes[Int(child)])] { pending.append((Int(child), otherChild)) }
      }
    }
    return result
  }
}
