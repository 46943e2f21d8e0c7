import AgentStream
import Symbolization

/// Swift async call stacks: which symbols are async functions, and where a
/// sample's awaiting callers go (Sources/Agent/agent/async_context.c records them).
enum AsyncStacks {
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
  /// pointer when that leads to an async caller, else the r14 in effect there.
  static func chain(at frame: Int, among chains: [AsyncChain], isAsyncCaller: (UInt64) -> Bool) -> AsyncChain? {
    let slot = chains.first { $0.source == .frameSlot && $0.frame == frame }
    let register = chains.last { $0.source == .register && $0.frame <= frame }
    return [slot, register].compactMap { $0 }.first { chain in
      chain.resumeFunctions.first.map(isAsyncCaller) ?? false
    }
  }
}
