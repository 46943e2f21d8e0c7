import AgentStream
import Dispatch
import Synchronization

/// Symbolizes while the program still runs, so that little is left at its exit.
/// The thread decoding the stream hands it every record (`observe`); it notes the
/// addresses of stacks in modules it has seen loaded and passes new ones, in
/// batches, to a background queue that asks `base` about them. Profile builds ask
/// it like any symbolizer: it answers from what the queue found and asks `base`
/// about the rest, so the frames are those `base` gives either way.
///
/// The queue is bounded: when it is full a batch is skipped (the final pass
/// resolves it), so decoding never waits for symbolization.
public final class EarlySymbolizer: Symbolizer, @unchecked Sendable {
  // @unchecked: `base` is used only under `baseLock`; `answers` only under its
  // Mutex; the decoding state only from the thread that calls `observe`.
  private let base: Symbolizer
  private let baseLock = Mutex(())
  /// Per file, what `base` answered for each file address.
  private let answers = Mutex<[String: [UInt64: [SourceFrame]]]>([:])
  private let queue = DispatchQueue(label: "prof.symbolize-early")
  private let queuedBatches = Atomic<Int>(0)
  private let stopped = Atomic<Bool>(false)

  /// Batches waiting or running at most; more are skipped.
  public static let queueLimit = 8
  /// Addresses of one file per call to `base` (one llvm-symbolizer process).
  public static let batchSize = 512

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
      for chain in sample.asyncChains { note(chain.resumeFunctions, returnAddresses: false) }
    case .heap(.bucket(let bucket)), .contention(.bucket(let bucket)): note(bucket.frames)
    case .stats, .heap(.stats), .contention(.stats), .end: submitPending()  // the agent's flush: hand over what it held
    default: break
    }
  }

  /// As `StackSymbolizer` looks them up: the leaf and function entries as they
  /// are, a return address stepped back into its call.
  private func note(_ stack: [UInt64], returnAddresses: Bool = true) {
    for (position, pc) in stack.enumerated() {
      let address = position == 0 || !returnAddresses ? pc : pc &- 1
      guard seen.insert(address).inserted, let segment = moduleMap.index(containing: address) else { continue }
      let module = moduleMap.segments[segment]
      guard !StackSymbolizer.isAgent(module) else { continue }
      pending[module.path, default: []].append(address &- module.loadBias)
      if pending[module.path]!.count >= Self.batchSize { submit(module.path) }
    }
  }

  private func submitPending() {
    for path in pending.keys.sorted() { submit(path) }
  }

  private func submit(_ path: String) {
    guard let addresses = pending.removeValue(forKey: path), !addresses.isEmpty else { return }
    guard queuedBatches.add(1, ordering: .relaxed).newValue <= Self.queueLimit else {
      queuedBatches.subtract(1, ordering: .relaxed)
      return  // full: the final pass resolves these
    }
    queue.async { [self] in
      defer { queuedBatches.subtract(1, ordering: .relaxed) }
      guard !stopped.load(ordering: .relaxed) else { return }
      _ = try? resolve(addresses, inFile: path)  // a failure is the final pass's to report
    }
  }

  /// Stops taking records and drops batches not yet started; the one running
  /// finishes. Call when collection ends: what is left is the final pass's.
  public func stop() { stopped.store(true, ordering: .relaxed) }

  /// Waits until the batches queued so far are done (tests).
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
