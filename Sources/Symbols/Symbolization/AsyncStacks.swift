import AgentStream
import Demangle

/// A stack's Swift async context chains (RawSample.asyncChains), kept from `add`
/// until symbols tell which of its frames is async.
public struct PendingAsyncCallers: Sendable {
  /// Where each raw frame went among the stack's location indices; nil: dropped.
  var positions: [Int?]
  var chains: [AsyncChain]
  /// Resume function address -> location index.
  var resumeLocations: [UInt64: Int]

  /// pprof location ids (index + 1) of the resume functions.
  public var resumeLocationIDs: [UInt64] { resumeLocations.values.map { UInt64($0 + 1) } }
}

extension StackSymbolizer {
  /// As `add`, and what `AsyncStacks.withCallers` needs to put the stack's awaiting
  /// callers after its async frame once the locations are resolved.
  public mutating func add(_ stack: [UInt64], asyncChains: [AsyncChain]) -> (indices: [Int], async: PendingAsyncCallers?) {
    let (indices, positions) = addKeepingPositions(stack)
    guard !asyncChains.isEmpty else { return (indices, nil) }
    var resumeLocations: [UInt64: Int] = [:]
    for address in asyncChains.flatMap({ $0.resumeFunctions + ($0.resumedFunction.map { [$0] } ?? []) })
    where resumeLocations[address] == nil {
      if let index = addFunctionEntry(address) { resumeLocations[address] = index }
    }
    return (indices, PendingAsyncCallers(positions: positions, chains: asyncChains, resumeLocations: resumeLocations))
  }
}

/// Swift async call stacks: which symbols are async functions, and where a
/// stack's awaiting callers go (Sources/Agent/agent/async_context.c records them).
public enum AsyncStacks {
  /// Puts the awaiting callers after the stack's innermost async frame, so that the
  /// executor frames below stay the root: logical callers up to the task's entry,
  /// then the thread that ran this piece of it. `kinds` remembers each symbol's
  /// answers across the stacks of one profile.
  public static func withCallers(_ indices: [Int], _ pending: PendingAsyncCallers, locations: [ResolvedLocation],
                                 kinds: inout [String: SymbolKind]) -> [Int] {
    func symbol(_ index: Int) -> String? { locations[index].frames.last?.systemName }
    func kind(_ index: Int?) -> SymbolKind {
      guard let index, let symbol = symbol(index) else { return SymbolKind() }
      if let known = kinds[symbol] { return known }
      let answer = SymbolKind(symbol)
      kinds[symbol] = answer
      return answer
    }
    guard let frame = pending.positions.indices.first(where: { raw in
      pending.positions[raw].map { kind(indices[$0]).isAsync } ?? false
    }), let position = pending.positions[frame],
      let chain = chain(at: frame, among: pending.chains,
                        isAsyncCaller: { kind(pending.resumeLocations[$0]).isAsync })
    else { return indices }
    let resumes = chain.resumeFunctions.compactMap { pending.resumeLocations[$0] }
    let callers: ArraySlice<Int>
    if chain.source == .task {
      // The job resumed this frame's function or a callee that returned to it without
      // suspending: its callers follow the first function on the chain that is it.
      let resumed = chain.resumedFunction.flatMap { pending.resumeLocations[$0] }
      let own = functionIdentity(symbol(indices[position]))
      guard let resumed, let found = ([resumed] + resumes).firstIndex(where: { functionIdentity(symbol($0)) == own })
      else { return indices }
      callers = ([resumed] + resumes)[(found + 1)...]
    } else {
      // On entry to an await-resume partial, r14 is still the returning callee's
      // context, whose resume function is this very frame: not a caller.
      let own = resumes.first.map { symbol($0) == symbol(indices[position]) } ?? false
      callers = resumes.dropFirst(own ? 1 : 0)[...]
    }
    let shown = callers.prefix { kind($0).isAsync }.filter { !kind($0).isThunk }
    return Array(indices[...position]) + shown + indices[(position + 1)...]
  }

  /// What a symbol is, for async stacks.
  public struct SymbolKind: Sendable {
    var isAsync = false
    var isThunk = false

    init() {}

    init(_ symbol: String) {
      isAsync = AsyncStacks.isAsyncFunction(symbol)
      isThunk = AsyncStacks.isThunk(symbol)
    }
  }

  /// An async function's partial function (its entry, or a resume point after an
  /// await): the frame whose async context leads to the awaiting callers.
  static func isAsyncFunction(_ symbol: String) -> Bool {
    guard Demangler.isSwift(symbol) else { return false }
    if isPartialFunctionSuffix(symbol) { return true }
    // A closure's signature comes before " in " and its context's after it.
    let own = Demangler.demangle(symbol).components(separatedBy: " in ")[0]
    return own.contains(") async")
  }

  /// TQ<n>_ (await resume) and TY<n>_ (suspend resume): Linux sets no async bit in
  /// saved frame pointers, so the mangled suffix is what tells them apart.
  private static func isPartialFunctionSuffix(_ symbol: String) -> Bool {
    guard symbol.hasSuffix("_") else { return false }
    let body = symbol.dropLast().reversed().drop(while: \.isNumber)
    return body.starts(with: "QT") || body.starts(with: "YT")
  }

  /// Compiler glue on the chain (partial apply forwarders, reabstraction thunks):
  /// no source of their own, left out of the logical stack.
  static func isThunk(_ symbol: String) -> Bool {
    let name = Demangler.demangle(symbol)
    return name.contains("partial apply forwarder") || name.contains("reabstraction thunk")
  }

  /// The chain of the context at async frame `frame`: the word below its frame
  /// pointer when that leads to an async caller, else the r14 in effect there, else
  /// the running task's resume context when the frame is the one the executor called.
  static func chain(at frame: Int, among chains: [AsyncChain], isAsyncCaller: (UInt64) -> Bool) -> AsyncChain? {
    let slot = chains.first { $0.source == .frameSlot && $0.frame == frame }
    let register = chains.last { $0.source == .register && $0.frame <= frame }
    let task = chains.first { $0.source == .task && $0.frame == frame }
    return [slot, register, task].compactMap { $0 }.first { chain in
      (chain.source == .task ? chain.resumedFunction : chain.resumeFunctions.first).map(isAsyncCaller) ?? false
    }
  }

  /// An async function's symbol without the suffix of one of its partial functions
  /// (TQ<n>_, TY<n>_): its partial functions and its entry have one identity.
  static func functionIdentity(_ symbol: String?) -> Substring? {
    guard let symbol else { return nil }
    guard isPartialFunctionSuffix(symbol) else { return symbol[...] }
    var body = symbol.dropLast()  // "_"
    while body.last?.isNumber == true { body = body.dropLast() }
    return body.dropLast(2)  // "TQ" or "TY"
  }
}
