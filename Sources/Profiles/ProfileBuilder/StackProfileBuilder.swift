import AgentStream
import Pprof
import Symbolization

/// Builds the stack part of a pprof profile (samples, locations, functions,
/// mappings) from raw stacks captured in the target, symbolizing outside it.
public struct StackProfileBuilder {
  public static let truncatedFrame = "[truncated stack]"

  private let modules: ModuleMap
  private let hiddenModule: (LoadedModule) -> Bool
  private let foldedLeaf: (String) -> Bool
  private var locationIDs: [UInt64: UInt64] = [:]  // address -> location id
  private var addresses: [UInt64] = []  // by location id - 1
  private var syntheticIDs: [String: UInt64] = [:]
  private var samples: [Sample] = []
  /// Async context chains of samples[index], with where each raw frame went in its
  /// location ids; resolved once symbols tell which frames are async.
  private var asyncChains: [Int: (chains: [AsyncChain], positions: [Int?])] = [:]

  /// The agent's library, whose frames (thread start trampoline, interposers,
  /// allocation hooks) never appear in what prof writes.
  public static func isAgent(_ module: LoadedModule) -> Bool {
    module.path.hasSuffix("/libProfAgent.so")
  }

  /// `hiddenModule` marks code whose frames never appear (the agent's own).
  /// `foldedLeaf` marks functions, by symbol, that are dropped while they are the
  /// leaf of a stack after symbolization (e.g. swift_allocObject: the caller is the leaf).
  public init(modules: [LoadedModule], hiddenModule: @escaping (LoadedModule) -> Bool,
              foldedLeaf: @escaping (String) -> Bool = { _ in false }) {
    self.modules = ModuleMap(modules)
    self.hiddenModule = hiddenModule
    self.foldedLeaf = foldedLeaf
  }

  /// Adds a stack of raw pcs, leaf first: the leaf is an exact pc, the others are
  /// return addresses, stepped back by one to land inside the call instruction.
  /// `asyncChains`: the awaiting callers the agent found (RawSample.asyncChains);
  /// they go after the stack's innermost async frame.
  public mutating func add(stack: [UInt64], values: [Int64], labels: [Label], syntheticRoot: String? = nil,
                           asyncChains: [AsyncChain] = []) {
    var ids: [UInt64] = []
    ids.reserveCapacity(stack.count + 1)
    var positions: [Int?] = []
    for (index, pc) in stack.enumerated() {
      if let module = modules.module(containing: pc), hiddenModule(module) {
        positions.append(nil)
        continue
      }
      positions.append(ids.count)
      ids.append(locationID(for: index == 0 ? pc : pc - 1))
    }
    if !asyncChains.isEmpty {
      // Resume functions are entry addresses, not return addresses: not stepped back.
      for chain in asyncChains { for address in chain.resumeFunctions { _ = locationID(for: address) } }
      self.asyncChains[samples.count] = (asyncChains, positions)
    }
    if let syntheticRoot { ids.append(syntheticID(for: syntheticRoot)) }
    samples.append(Sample(locationIDs: ids, values: values, labels: labels))
  }

  /// Adds a sample whose only frame is a made-up function, e.g. "[dropped samples]",
  /// so that losses show up in every view of the profile.
  public mutating func addSynthetic(frame name: String, values: [Int64], labels: [Label] = []) {
    samples.append(Sample(locationIDs: [syntheticID(for: name)], values: values, labels: labels))
  }

  private mutating func locationID(for address: UInt64) -> UInt64 {
    if let id = locationIDs[address] { return id }
    addresses.append(address)
    let id = UInt64(addresses.count)
    locationIDs[address] = id
    return id
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
    var tables = SymbolTables()
    var warnings: [String] = []
    var locations = addresses.enumerated().map { index, address in
      var location = Location(id: UInt64(index + 1))
      location.address = address
      return location
    }
    var mappings = modules.segments.enumerated().map { index, module in
      var mapping = Mapping(id: UInt64(index + 1))
      mapping.memoryStart = module.start
      mapping.memoryLimit = module.limit
      mapping.fileOffset = module.fileOffset
      mapping.filename = module.path
      mapping.buildID = module.buildIDHex
      return mapping
    }
    for (segment, indices) in modules.group(addresses) {
      for index in indices { locations[index].mappingID = UInt64(segment + 1) }
      guard let symbolizer else { continue }
      let module = modules.segments[segment]
      do {
        let frames = try symbolizer.symbolize(addresses: indices.map { addresses[$0] - module.loadBias },
                                              inFile: module.path)
        for (index, sourceFrames) in zip(indices, frames) {
          locations[index].lines = sourceFrames.map { tables.line(for: $0) }
        }
        mappings[segment].markSymbolized(by: indices.map { locations[$0].lines }, tables.functions)
      } catch {
        warnings.append("\(module.path): \(error)")
      }
    }
    for (name, id) in syntheticIDs.sorted(by: { $0.value < $1.value }) {
      var location = Location(id: id)
      location.lines = [tables.line(for: SourceFrame(symbol: name))]
      locations.append(location)
    }
    let extended = extendAsyncStacks(samples, locations, tables.functions)
    profile.samples = foldLeaves(of: extended, locations, tables.functions)
    profile.mappings = mappings
    // Resume functions of chains that were not used stay out.
    let used = Set(profile.samples.flatMap(\.locationIDs))
    profile.locations = locations.filter { used.contains($0.id) }
    profile.functions = tables.functions
    return warnings
  }
}

extension StackProfileBuilder {
  /// Puts each sample's awaiting callers after its innermost async frame, so that
  /// the executor frames below stay the root: logical callers up to the task's entry,
  /// then the thread that ran this piece of it.
  private func extendAsyncStacks(_ samples: [Sample], _ locations: [Location], _ functions: [Function]) -> [Sample] {
    guard !asyncChains.isEmpty else { return samples }
    var symbolOf: [UInt64: String] = [:]  // location id -> its physical function's symbol
    for location in locations {
      if let last = location.lines.last { symbolOf[location.id] = functions[Int(last.functionID) - 1].systemName }
    }
    // Per symbol, once: (async, glue).
    var kinds: [String: (async: Bool, thunk: Bool)] = [:]
    func kind(_ id: UInt64) -> (async: Bool, thunk: Bool) {
      guard let symbol = symbolOf[id] else { return (false, false) }
      if let known = kinds[symbol] { return known }
      let answer = (AsyncStacks.isAsyncFunction(symbol), AsyncStacks.isThunk(symbol))
      kinds[symbol] = answer
      return answer
    }
    func isAsyncLocation(_ id: UInt64) -> Bool { kind(id).async }
    var result = samples
    for (index, pending) in asyncChains {
      let ids = samples[index].locationIDs
      guard let frame = pending.positions.indices.first(where: { raw in
        pending.positions[raw].map { isAsyncLocation(ids[$0]) } ?? false
      }), let position = pending.positions[frame] else { continue }
      guard let chain = AsyncStacks.chain(at: frame, among: pending.chains,
                                          isAsyncCaller: { isAsyncLocation(locationIDs[$0] ?? 0) })
      else { continue }
      // On entry to an await-resume partial, r14 is still the returning callee's
      // context, whose resume function is this very frame: not a caller.
      let resumes = chain.resumeFunctions.map { locationIDs[$0] ?? 0 }
      let own = resumes.first.map { symbolOf[$0] == symbolOf[ids[position]] } ?? false
      let callers = resumes.dropFirst(own ? 1 : 0).prefix(while: isAsyncLocation)
        .filter { !kind($0).thunk }
      result[index].locationIDs = Array(ids[...position]) + callers + ids[(position + 1)...]
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

/// Functions interned by (name, symbol, file), ids in order of first use.
private struct SymbolTables {
  private(set) var functions: [Function] = []
  private var ids: [SourceFunctionKey: UInt64] = [:]

  private struct SourceFunctionKey: Hashable {
    var symbol: String
    var file: String
    var startLine: Int64
  }

  mutating func line(for frame: SourceFrame) -> Line {
    let key = SourceFunctionKey(symbol: frame.symbol, file: frame.file, startLine: frame.startLine)
    let id = ids[key] ?? intern(frame, key)
    return Line(functionID: id, line: frame.line, column: frame.column)
  }

  private mutating func intern(_ frame: SourceFrame, _ key: SourceFunctionKey) -> UInt64 {
    var function = Function(id: UInt64(functions.count + 1))
    function.name = Demangler.readableName(frame.symbol)
    function.systemName = frame.symbol
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
  fileprivate mutating func markSymbolized(by lines: [[Line]], _ functions: [Function]) {
    for locationLines in lines {
      hasInlineFrames = hasInlineFrames || locationLines.count > 1
      for line in locationLines {
        let function = functions[Int(line.functionID) - 1]
        hasFunctions = hasFunctions || !function.name.isEmpty
        hasFilenames = hasFilenames || !function.filename.isEmpty
        hasLineNumbers = hasLineNumbers || line.line != 0
      }
    }
  }
}
