import AgentStream

/// Accumulates the agent's records for a CPU profile: identical stacks on the
/// same thread are counted once, so memory grows with distinct stacks, not time.
public struct CPUSampleCollector {
  public struct StackKey: Hashable {
    public var tid: UInt32
    public var frames: [UInt64]
    public var truncated: Bool
  }

  public private(set) var start: StreamStart?
  public private(set) var modules: [LoadedModule] = []
  public private(set) var threadNames: [UInt32: String] = [:]
  public private(set) var stats = AgentStats()
  public private(set) var endReason: EndReason?
  /// Timer periods per distinct stack.
  public private(set) var periods: [StackKey: UInt64] = [:]
  private var knownModules = Set<LoadedModule>()

  public init() {}

  public mutating func consume(_ record: AgentRecord) {
    switch record {
    case .start(let start): self.start = start
    case .sample(let sample):
      let key = StackKey(tid: sample.tid, frames: sample.frames, truncated: sample.truncated)
      periods[key, default: 0] += UInt64(sample.weight)
    case .thread(let tid, let name): threadNames[tid] = name
    case .module(let module):
      if knownModules.insert(module).inserted { modules.append(module) }
    case .stats(let stats): self.stats = stats
    case .end(let reason): endReason = reason
    }
  }

  public var totalPeriods: UInt64 { periods.values.reduce(0, +) }
}
