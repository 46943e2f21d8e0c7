import AgentStream
import Dispatch
import Synchronization

/// Symbolizes while the program still runs, so that little is left at its exit.
/// The thread decoding the stream hands it every record (`observe`); it notes the
/// addresses of stacks in modules it has seen loaded and, at the agent's flushes,
/// passes the new ones to a background queue that asks `base` about them. Profile
/// builds ask it like any symbolizer: it answers from what the queue found and asks
/// `base` about the rest, so the frames are those `base` gives either way.
///
/// The queue holds one job at most: while it works, new addresses wait for a later
/// flush (or the final pass), so decoding never waits, one llvm-symbolizer runs
/// beside the program at a time, and each asks about as many addresses as have
/// gathered (llvm-symbolizer reads a module's debug info again on every run).
public final class EarlySymbolizer: Symbolizer, @unchecked Sendable {
  // @unchecked: `base` is used only under `baseLock`; `answers` only under its
  // Mutex; the decoding state only from the thread that calls `observe`.
  private let base: Symbolizer
  private let baseLock = Mutex(())
  /// Per file, what `base` answered for each file address.
  private let answers = Mutex<[String: [UInt64: [SourceFrame]]]>([:])
  private let queue = DispatchQueue(label: "prof.symbolize-early")
  /// A job is queued or running: set by the decoding thread, cleared by the queue.
  private let busy = Atomic<Bool>(false)
  private let stopped = Atomic<Bool>(false)

  // Decoding thread only.
  private var loaded: [LoadedModule] = []
  private var moduleMap = ModuleMap([])
  private var seen = Set<UInt64>()
  private var pending: [String: [UInt64]] = [:]  // file -> file addresses

  public init(_ base: Symbolizer) { self.base = base }

  /// Notes a decoded record: modules loaded, and stacks whose new addresses are
  /// queued in batches. Call from one thread (the one decoding the stream).
  public func observe(_ record: AgentRecord) {
    guard !stopped.load(ordering: .relaxed) else { return }
    switch record {
    case .module(let module):
      loaded.append(module)
      moduleMap = ModuleMap(loaded)
    case .sample(let sample):
      note(sample.frames)
      for chain in sample.asyncChains {
        note(chain.resumeFunctions + (chain.resumedFunction.map { [$0] } ?? []), returnAddresses: false)
      }
    case .heap(.bucket(let bucket)), .contention(.bucket(let bucket)): note(bucket.frames)
    case .stats, .heap(.stats), .contention(.stats), .end: submitPending()  // the agent's flush
    default: break
    }
  }

  /// As `StackSymbolizer` looks them up: the leaf and function entries as they
  /// are, a return address stepped back into its call.
  private func note(_ stack: [UInt64], returnAddresses: Bool = true) {
    for (position, pc) in stack.enumerated() {
      let address = returnAddresses ? StackSymbolizer.lookupAddress(pc, at: position) : pc
      guard seen.insert(address).inserted, let segment = moduleMap.index(containing: address) else { continue }
      let module = moduleMap.segments[segment]
      guard !StackSymbolizer.isAgent(module) else { continue }
      pending[module.path, default: []].append(address &- module.loadBias)
    }
  }

  /// Hands what gathered to the queue unless it is still at work: then it waits
  /// for a later flush.
  private func submitPending() {
    guard !pending.isEmpty, !busy.load(ordering: .acquiring) else { return }
    busy.store(true, ordering: .relaxed)
    let files = pending.sorted { $0.key < $1.key }
    pending = [:]
    queue.async { [self] in
      defer { busy.store(false, ordering: .releasing) }
      for (path, addresses) in files where !stopped.load(ordering: .relaxed) {
        _ = try? resolve(addresses, inFile: path)  // a failure is the final pass's to report
      }
    }
  }

  /// Stops taking records and skips the files the queue has not started; the one
  /// it is at finishes. Call when collection ends: what is left is the final pass's.
  public func stop() { stopped.store(true, ordering: .relaxed) }

  /// Waits until the job queued so far is done (tests).
  public func waitForQueue() { queue.sync {} }

  /// How many addresses have answers so far (tests, summaries).
  public var answeredCount: Int { answers.withLock { $0.values.reduce(0) { $0 + $1.count } } }

  public func symbolize(addresses: [UInt64], inFile path: String) throws -> [[SourceFrame]] {
    try resolve(addresses, inFile: path)
  }

  /// Answers for `addresses`, asking `base` only about those not answered yet.
  @discardableResult
  private func resolve(_ addresses: [UInt64], inFile path: String) throws -> [[SourceFrame]] {
    try baseLock.withLock { _ throws(any Error) in
      let missing = answers.withLock { answers in
        let known = answers[path, default: [:]]
        return Array(Set(addresses.filter { known[$0] == nil })).sorted()
      }
      let frames = missing.isEmpty ? [] : try base.symbolize(addresses: missing, inFile: path)
      return answers.withLock { answers in
        for (address, frames) in zip(missing, frames) { answers[path, default: [:]][address] = frames }
        let known = answers[path, default: [:]]
        return addresses.map { known[$0] ?? [] }
      }
    }
  }
}
