import AgentStream

/// Accumulates the agent's records for a CPU profile: identical stacks on the
/// same thread are counted once, so memory grows with distinct stacks, not time.
public struct CPUSampleCollector {
  public struct StackKey: Hashable {
    public var tid: UInt32
    public var frames: [UInt64]
    public var truncated: Bool
    public var asyncChains: [AsyncChain] = []
  }

  public private(set) var start: StreamStart?
  /// The last process image's modules first, so that mapping[0] is the program
  /// that ran last (a wrapper script may have exec'd it).
  public var modules: [LoadedModule] { images.reversed().flatMap { $0 } }
  private var images: [[LoadedModule]] = [[]]
  public private(set) var threadNames: [UInt32: String] = [:]
  /// Summed over the process images of the run (an exec'd program continues the stream).
  public var stats: AgentStats { earlierImages + currentImage }
  private var earlierImages = AgentStats()
  private var currentImage = AgentStats()
  public private(set) var endReason: EndReason?
  /// The program installed its own handler for the sampling signal.
  public private(set) var handlerReplaced = false
  /// Threads that block the sampling signal, by tid: the agent's last word on each.
  public private(set) var blockingThreads: [UInt32: SignalBlockingThread] = [:]
  /// Samples taken, and timer periods they stand for: a thread's CPU timer fires at
  /// the kernel's tick at most, so one late sample can cover several periods.
  public struct Totals: Equatable {
    public var samples: UInt64 = 0
    public var periods: UInt64 = 0
  }

  public private(set) var stacks: [StackKey: Totals] = [:]
  /// Wall-clock mode: idle ticks of threads with no sample yet, by tid.
  public private(set) var idleTicksWithoutStack: [UInt32: UInt64] = [:]
  private var knownModules = Set<LoadedModule>()
  private var lastStack: [UInt32: StackKey] = [:]

  public init() {}

  public mutating func consume(_ record: AgentRecord) {
    switch record {
    case .start(let start):
      // A later START: the process exec'd another program, which goes on sampling.
      if self.start == nil {
        self.start = start
      } else {
        earlierImages = stats
        currentImage = AgentStats()
        images.append([])
      }
    case .sample(let sample):
      let key = StackKey(tid: sample.tid, frames: sample.frames, truncated: sample.truncated,
                         asyncChains: sample.asyncChains)
      count(key, periods: UInt64(sample.weight))
      lastStack[sample.tid] = key
    case .idle(let tick):
      // Wall-clock mode: a thread that did not run is still blocked where it was;
      // one never sampled (it blocks the signal) waited where no stack tells.
      if let key = lastStack[tick.tid] { count(key, periods: 1) } else { idleTicksWithoutStack[tick.tid, default: 0] += 1 }
    case .trace, .residentSetSize, .heap, .contention, .lockWait:
      break  // timeline records: the trace builder reads them; heap records: prof heap's
    case .thread(let tid, let name): threadNames[tid] = name
    case .module(let module):
      if knownModules.insert(module).inserted { images[images.count - 1].append(module) }
    case .stats(let stats): currentImage = stats
    case .end(let reason): endReason = reason
    case .notice(.handlerReplaced): handlerReplaced = true
    case .notice(.signalBlocked(let thread)): blockingThreads[thread.tid] = thread
    case .notice(.unwinderUnavailable), .notice(.unwindCheck), .notice(.unwindCheckFrames): break  // the recording warns
    }
  }

  private mutating func count(_ key: StackKey, periods: UInt64) {
    stacks[key, default: Totals()].samples += 1
    stacks[key, default: Totals()].periods += periods
  }

  public var totals: Totals {
    stacks.values.reduce(into: Totals()) {
      $0.samples += $1.samples
      $0.periods += $1.periods
    }
  }
}
