import AgentStream
import Demangle
import Synchronization

/// One function at a place in the program, as every output names it.
public struct ResolvedFrame: Hashable, Sendable {
  /// What readers see: demangled, Swift names shortened, "strlen@plt", "[sort]".
  public var name: String
  /// The linkage name (or the made-up name itself).
  public var systemName: String
  /// Only what debug info says: the line table's file where it gives a line, else
  /// the function's declaration file. Never a symbol table's file symbol: that is
  /// the object file the symbol came from (crtstuff.c for every PLT stub, Swift.o for
  /// much of libswiftCore), not where the code is.
  public var file = ""
  public var line: Int64 = 0
  public var column: Int64 = 0
  public var startLine: Int64 = 0
}

extension ResolvedFrame {
  init(_ source: SourceFrame) {
    self.init(name: Demangler.readableName(source.symbol), systemName: source.symbol)
    if source.line > 0 {
      (file, line, column, startLine) = (source.file, source.line, source.column, source.startLine)
    } else if source.startLine > 0 {
      // Code debug info covers without a line (compiler-generated): the function's file.
      (file, startLine) = (source.startFile, source.startLine)
    }
  }

  /// A frame whose name says what it stands for ("[dropped samples]", "[sort]").
  public static func synthetic(_ name: String) -> ResolvedFrame { ResolvedFrame(name: name, systemName: name) }

  /// A PLT stub, "target@plt" (or the section's name for the resolver stub): the
  /// target demangled like any other name.
  static func pltStub(_ stub: String) -> ResolvedFrame {
    guard stub.hasSuffix("@plt") else { return synthetic(stub) }
    return ResolvedFrame(name: Demangler.readableName(String(stub.dropLast(4))) + "@plt", systemName: stub)
  }

  /// Code of the module at `path` that no symbol covers: "[sort]", as go tool pprof
  /// names locations without functions.
  public static func unsymbolized(in path: String) -> ResolvedFrame {
    synthetic("[" + (path.split(separator: "/").last.map(String.init) ?? path) + "]")
  }
}

/// A distinct pc of the stacks added: where it is and what runs there.
public struct ResolvedLocation: Sendable {
  /// The run-time address; a return address is stepped back into its call.
  public var address: UInt64
  /// Index into `StackSymbolizer.modules`; nil for a leaf in no mapped module.
  public var module: Int?
  /// Innermost inlined frame first, the physical function last; empty when the
  /// module could not be symbolized (the address is all there is).
  public var frames: [ResolvedFrame]
}

/// Raw stacks captured in the target in, frames out: the one symbolization that
/// pprof profiles and Chrome traces both use, so that they name every frame alike.
///
/// PLT stubs are named from their relocations (`strlen@plt`, see `PLTStubs`), the
/// rest by the symbolizer (line tables, .symtab, .dynsym where a symbol covers the
/// address). Code it cannot name is named after its module (`[sort]`), as
/// go tool pprof shows unsymbolized code: one row per module rather than one per
/// instruction at addresses that change every run.
public struct StackSymbolizer {
  private let moduleMap: ModuleMap
  private let hiddenModule: (LoadedModule) -> Bool
  private var indexByAddress: [UInt64: Int] = [:]
  private var addresses: [UInt64] = []
  private var moduleOfLocation: [Int?] = []

  /// Stacks added that held callers no executable mapping holds, which were dropped
  /// (a frame-pointer walk through code without frame pointers reads such values).
  public private(set) var stacksWithUnmappedFrames = 0

  /// The executable segments, duplicates removed, in the order the agent reported them.
  public var modules: [LoadedModule] { moduleMap.segments }

  /// `hiddenModule` marks code whose frames never appear (the agent's own).
  public init(modules: [LoadedModule], hiddenModule: @escaping (LoadedModule) -> Bool) {
    moduleMap = ModuleMap(modules)
    self.hiddenModule = hiddenModule
  }

  /// The address a stack's frame is looked up at: the leaf as it is, a return
  /// address stepped back into its call (wraps only on hostile input).
  public static func lookupAddress(_ pc: UInt64, at position: Int) -> UInt64 { position == 0 ? pc : pc &- 1 }

  /// The agent's library, whose frames (thread start trampoline, interposers,
  /// allocation hooks) never appear in what prof writes.
  public static func isAgent(_ module: LoadedModule) -> Bool {
    module.path.hasSuffix("/libProfAgent.so")
  }

  /// Adds a stack of raw pcs, leaf first: the leaf is an exact pc, the others are
  /// return addresses, stepped back by one to land inside the call instruction.
  /// The leaf is where the CPU was, so it stays even in no known module (code the
  /// agent did not report); a caller there is not a return address, and is dropped.
  /// Returns the indices of its locations, leaf first.
  public mutating func add(_ stack: [UInt64]) -> [Int] { addKeepingPositions(stack).indices }

  /// As `add`, and where each raw frame went: its place in `indices`, nil when dropped.
  public mutating func addKeepingPositions(_ stack: [UInt64]) -> (indices: [Int], positions: [Int?]) {
    var indices: [Int] = []
    indices.reserveCapacity(stack.count)
    var positions: [Int?] = []
    var unmapped = false
    defer { if unmapped { stacksWithUnmappedFrames += 1 } }
    for (position, pc) in stack.enumerated() {
      positions.append(nil)
      let module = moduleMap.index(containing: pc)
      if let module, hiddenModule(moduleMap.segments[module]) { continue }
      if module == nil && position > 0 {
        unmapped = true
        continue
      }
      positions[position] = indices.count
      indices.append(location(for: Self.lookupAddress(pc, at: position), in: module))
    }
    return (indices, positions)
  }

  /// A function's entry (a Swift async resume function), looked up as it is: not a
  /// return address. nil outside the modules' code.
  public mutating func addFunctionEntry(_ address: UInt64) -> Int? {
    guard let module = moduleMap.index(containing: address), !hiddenModule(moduleMap.segments[module]) else { return nil }
    return location(for: address, in: module)
  }

  private mutating func location(for address: UInt64, in module: Int?) -> Int {
    if let index = indexByAddress[address] { return index }
    addresses.append(address)
    moduleOfLocation.append(module)
    indexByAddress[address] = addresses.count - 1
    return addresses.count - 1
  }

  /// Every location added, by index. Returns one warning per module whose file
  /// could not be symbolized (its locations keep only their addresses).
  public func resolve(symbolizer: Symbolizer?) -> (locations: [ResolvedLocation], warnings: [String]) {
    var locations = addresses.indices.map { ResolvedLocation(address: addresses[$0], module: moduleOfLocation[$0], frames: []) }
    var warnings: [String] = []
    let byModule = Dictionary(grouping: addresses.indices, by: { moduleOfLocation[$0] })
    for (module, indices) in byModule.compactMap({ key, value in key.map { ($0, value) } }).sorted(by: { $0.0 < $1.0 }) {
      let segment = moduleMap.segments[module]
      let fileAddresses = indices.map { addresses[$0] &- segment.loadBias }
      do {
        let frames = try ModuleSymbols(segment.path, symbolizer: symbolizer).frames(at: fileAddresses)
        for (index, frames) in zip(indices, frames) { locations[index].frames = frames }
      } catch {
        warnings.append("\(segment.path): \(error)")
      }
    }
    return (locations, warnings)
  }
}

/// What one module's file says about addresses in it.
private struct ModuleSymbols {
  let path: String
  let symbolizer: Symbolizer?
  /// nil where the file cannot be read as ELF.
  let stubs: PLTStubs?

  init(_ path: String, symbolizer: Symbolizer?) {
    self.path = path
    self.symbolizer = symbolizer
    stubs = Self.stubTables.withLock { tables in
      if let known = tables[path] { return known }
      let stubs = try? PLTStubs(ELFFile(path: VirtualDSO.fileHolding(path)))
      tables[path] = .some(stubs)  // unreadable files too
      return stubs
    }
  }

  /// Read once per file: checkpoints rebuild the profile every few seconds.
  private static let stubTables = Mutex<[String: PLTStubs?]>([:])

  /// PLT stubs by their decoded names, the rest as the symbolizer says, and what it
  /// cannot name (stripped code) after the module, as go tool pprof shows it.
  func frames(at addresses: [UInt64]) throws -> [[ResolvedFrame]] {
    let stubNames = addresses.map { stubs?.name(at: $0) }
    let others = zip(addresses, stubNames).filter { $0.1 == nil }.map(\.0)
    guard let symbolizer else { return stubNames.map { name in name.map { [.pltStub($0)] } ?? [] } }
    var answers = try symbolizer.symbolize(addresses: others, inFile: path).makeIterator()
    let module = ResolvedFrame.unsymbolized(in: path)
    return stubNames.map { stubName in
      if let stubName { return [.pltStub(stubName)] }
      let frames = (answers.next() ?? []).map(ResolvedFrame.init)
      return frames.isEmpty ? [module] : frames
    }
  }
}
