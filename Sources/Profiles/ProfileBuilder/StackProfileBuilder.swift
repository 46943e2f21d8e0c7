import AgentStream
import Pprof
import Symbolization

/// Builds the stack part of a pprof profile (samples, locations, functions,
/// mappings) from raw stacks captured in the target, symbolized by `StackSymbolizer`.
public struct StackProfileBuilder {
  public static let truncatedFrame = "[truncated stack]"

  private var stacks: StackSymbolizer
  private let foldedLeaf: (String) -> Bool
  private var syntheticIDs: [String: UInt64] = [:]
  private var samples: [Sample] = []
  /// Awaiting callers of samples[index], put in once symbols are known.
  private var asyncCallers: [Int: PendingAsyncCallers] = [:]

  /// The agent's library, whose frames never appear in what prof writes.
  public static func isAgent(_ module: LoadedModule) -> Bool { StackSymbolizer.isAgent(module) }

  /// `hiddenModule` marks code whose frames never appear (the agent's own).
  /// `foldedLeaf` marks functions, by symbol, that are dropped while they are the
  /// leaf of a stack after symbolization (e.g. swift_allocObject: the caller is the leaf).
  public init(modules: [LoadedModule], hiddenModule: @escaping (LoadedModule) -> Bool,
              foldedLeaf: @escaping (String) -> Bool = { _ in false }) {
    stacks = StackSymbolizer(modules: modules, hiddenModule: hiddenModule)
    self.foldedLeaf = foldedLeaf
  }

  /// Adds a stack of raw pcs, leaf first (see `StackSymbolizer.add`), and the
  /// awaiting callers the agent found for it (RawSample.asyncChains).
  public mutating func add(stack: [UInt64], values: [Int64], labels: [Label], syntheticRoot: String? = nil,
                           asyncChains: [AsyncChain] = []) {
    let (indices, pending) = stacks.add(stack, asyncChains: asyncChains)
    if let pending { asyncCallers[samples.count] = pending }
    var ids = indices.map { UInt64($0 + 1) }
    if let syntheticRoot { ids.append(syntheticID(for: syntheticRoot)) }
    samples.append(Sample(locationIDs: ids, values: values, labels: labels))
  }

  /// Adds a sample whose only frame is a made-up function, e.g. "[dropped samples]",
  /// so that losses show up in every view of the profile.
  public mutating func addSynthetic(frame name: String, values: [Int64], labels: [Label] = []) {
    samples.append(Sample(locationIDs: [syntheticID(for: name)], values: values, labels: labels))
  }

  private mutating func syntheticID(for name: String) -> UInt64 {
    if let id = syntheticIDs[name] { return id }
    let id = UInt64(1 << 62) + UInt64(syntheticIDs.count + 1)
    syntheticIDs[name] = id
    return id
  }

  /// Fills samples, mappings, locations and functions of `profile`. Returns one
  /// warning per module that could not be symbolized (its frames keep addresses).
  public func build(into profile: inout Profile, symbolizer: Symbolizer?) -> [String] {
    let (resolved, warnings) = stacks.resolve(symbolizer: symbolizer)
    var functions = FunctionTable()
    var mappings = stacks.modules.enumerated().map { index, module in
      var mapping = Mapping(id: UInt64(index + 1))
      mapping.memoryStart = module.start
      mapping.memoryLimit = module.limit
      mapping.fileOffset = module.fileOffset
      mapping.filename = module.path
      mapping.buildID = module.buildIDHex
      return mapping
    }
    var locations = resolved.enumerated().map { index, resolved in
      var location = Location(id: UInt64(index + 1))
      location.address = resolved.address
      location.mappingID = resolved.module.map { UInt64($0 + 1) } ?? 0
      location.lines = resolved.frames.map { functions.line(for: $0) }
      return location
    }
    // A module's name stands in for missing symbols but is none: pprof may still
    // symbolize such a mapping, e.g. from an unstripped copy in PPROF_BINARY_PATH.
    for (location, resolved) in zip(locations, resolved) {
      guard let module = resolved.module, resolved.frames != [.unsymbolized(in: stacks.modules[module].path)] else { continue }
      mappings[module].markSymbolized(by: location.lines, functions.functions)
    }
    for (name, id) in syntheticIDs.sorted(by: { $0.value < $1.value }) {
      var location = Location(id: id)
      location.lines = [functions.line(for: .synthetic(name))]
      locations.append(location)
    }
    if stacks.stacksWithUnmappedFrames > 0 {
      profile.comments.append("prof: \(stacks.stacksWithUnmappedFrames) distinct stacks held callers outside mapped executable code; those frames were dropped")
    }
    profile.samples = foldLeaves(of: withAsyncCallers(samples, resolved), locations, functions.functions)
    profile.mappings = mappings
    // Resume functions of chains that no sample took are left out.
    let used = Set(profile.samples.flatMap(\.locationIDs))
    let resumes = Set(asyncCallers.values.flatMap { $0.resumeLocationIDs })
    profile.locations = locations.filter { !resumes.contains($0.id) || used.contains($0.id) }
    profile.functions = functions.functions
    return warnings
  }
}

extension StackProfileBuilder {
  private func withAsyncCallers(_ samples: [Sample], _ resolved: [ResolvedLocation]) -> [Sample] {
    var kinds: [String: AsyncStacks.SymbolKind] = [:]
    var result = samples
    for (index, pending) in asyncCallers {
      let physical = samples[index].locationIDs.prefix { $0 < 1 << 62 }.map { Int($0) - 1 }  // not synthetic roots
      let extended = AsyncStacks.withCallers(physical, pending, locations: resolved, kinds: &kinds)
      result[index].locationIDs = extended.map { UInt64($0 + 1) } + samples[index].locationIDs.dropFirst(physical.count)
    }
    return result
  }

  /// Drops leaf locations whose every line is a folded function; a stack made only
  /// of them keeps its root.
  private func foldLeaves(of samples: [Sample], _ locations: [Location], _ functions: [Function]) -> [Sample] {
    let folded = Set(locations.filter { location in
      !location.lines.isEmpty && location.lines.allSatisfy { foldedLeaf(functions[Int($0.functionID) - 1].systemName) }
    }.map(\.id))
    guard !folded.isEmpty else { return samples }
    return samples.map { sample in
      var sample = sample
      let kept = sample.locationIDs.drop(while: folded.contains)
      sample.locationIDs = kept.isEmpty ? Array(sample.locationIDs.suffix(1)) : Array(kept)
      return sample
    }
  }
}

/// Functions interned by (symbol, file, start line), ids in order of first use.
private struct FunctionTable {
  private(set) var functions: [Function] = []
  private var ids: [Key: UInt64] = [:]

  private struct Key: Hashable {
    var systemName: String
    var file: String
    var startLine: Int64
  }

  mutating func line(for frame: ResolvedFrame) -> Line {
    let key = Key(systemName: frame.systemName, file: frame.file, startLine: frame.startLine)
    let id = ids[key] ?? intern(frame, key)
    return Line(functionID: id, line: frame.line, column: frame.column)
  }

  private mutating func intern(_ frame: ResolvedFrame, _ key: Key) -> UInt64 {
    var function = Function(id: UInt64(functions.count + 1))
    function.name = frame.name
    function.systemName = frame.systemName
    function.filename = frame.file
    function.startLine = frame.startLine
    functions.append(function)
    ids[key] = function.id
    return function.id
  }
}

extension Mapping {
  /// Sets the has_* flags from what symbolization found, so that pprof neither
  /// trusts missing data nor re-symbolizes what is already there.
  fileprivate mutating func markSymbolized(by lines: [Line], _ functions: [Function]) {
    hasInlineFrames = hasInlineFrames || lines.count > 1
    for line in lines {
      let function = functions[Int(line.functionID) - 1]
      hasFunctions = hasFunctions || !function.name.isEmpty
      hasFilenames = hasFilenames || !function.filename.isEmpty
      hasLineNumbers = hasLineNumbers || line.line != 0
    }
  }
}
