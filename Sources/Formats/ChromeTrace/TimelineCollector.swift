import AgentStream

/// Keeps what a timeline needs from the agent's stream: every sample with its
/// time and thread CPU clock (stacks stored once), user trace events and RSS.
public struct TimelineCollector {
  /// One tick of one thread. `stack` is nil for an idle tick: the thread did not
  /// run, so it is still where its previous sample found it.
  public struct Tick: Equatable {
    public var nanos: UInt64
    public var threadCPUNanos: UInt64
    public var stack: Int?
  }

  public private(set) var start: StreamStart?
  public private(set) var threadNames: [UInt32: String] = [:]
  public private(set) var ticks: [UInt32: [Tick]] = [:]
  /// Distinct raw stacks, leaf first, as the agent captured them.
  public private(set) var stacks: [[UInt64]] = []
  /// The async context chains of stacks[index] (RawSample.asyncChains).
  public private(set) var asyncChains: [[AsyncChain]] = []
  public private(set) var events: [TraceEvent] = []
  /// Lock waits of at least `prof trace --lock-wait-threshold`.
  public private(set) var lockWaits: [LockWait] = []
  public private(set) var residentSetSizes: [(nanos: UInt64, bytes: UInt64)] = []
  /// Heap bytes in use (with `prof trace --heap`), at the agent's flushes.
  public private(set) var heapInUse: [(nanos: UInt64, bytes: Int64)] = []
  /// Threads that block the sampling signal, by tid: the agent's last word on each.
  public private(set) var blockingThreads: [UInt32: SignalBlockingThread] = [:]
  private var stackIndices: [StackKey: Int] = [:]

  private struct StackKey: Hashable {
    var frames: [UInt64]
    var asyncChains: [AsyncChain]
  }

  public init() {}

  public mutating func consume(_ record: AgentRecord) {
    switch record {
    case .start(let start): if self.start == nil { self.start = start }  // later: an exec'd image
    case .thread(let tid, let name): threadNames[tid] = name
    case .sample(let sample):
      ticks[sample.tid, default: []].append(
        Tick(nanos: sample.monotonicNanos, threadCPUNanos: sample.threadCPUNanos, stack: index(of: StackKey(frames: sample.frames, asyncChains: sample.asyncChains))))
    case .idle(let idle):
      ticks[idle.tid, default: []].append(Tick(nanos: idle.monotonicNanos, threadCPUNanos: idle.threadCPUNanos, stack: nil))
    case .trace(let event): events.append(event)
    case .lockWait(let wait): lockWaits.append(wait)
    case .residentSetSize(let nanos, let bytes): residentSetSizes.append((nanos, bytes))
    case .heap(.stats(let stats)):
      // The agent writes a flush's RSS record just before its heap totals, so
      // that record's time is when these totals were read.
      if let flush = residentSetSizes.last?.nanos { heapInUse.append((flush, stats.inUseBytes)) }
    case .notice(.signalBlocked(let thread)): blockingThreads[thread.tid] = thread
    case .module, .stats, .end, .heap, .contention, .notice: break
    }
  }

  private mutating func index(of stack: StackKey) -> Int {
    if let index = stackIndices[stack] { return index }
    stacks.append(stack.frames)
    asyncChains.append(stack.asyncChains)
    stackIndices[stack] = stacks.count - 1
    return stacks.count - 1
  }
}
