import AgentStream

/// Accumulates a heap-mode stream: stack buckets as the agent defines them, the
/// latest cumulative counts of each, and the agent's exact totals.
public struct HeapCollector {
  public private(set) var start: StreamStart?
  public private(set) var modules: [LoadedModule] = []
  public private(set) var buckets: [UInt32: HeapBucket] = [:]
  public private(set) var counts: [UInt32: HeapBucketCounts] = [:]
  public private(set) var stats = HeapStats()
  public private(set) var endReason: EndReason?
  /// Counts for a bucket the stream never defined: a corrupt stream, reported.
  public private(set) var undefinedBuckets = 0
  private var knownModules = Set<LoadedModule>()

  public init() {}

  public mutating func consume(_ record: AgentRecord) {
    switch record {
    case .start(let start): self.start = start
    case .module(let module):
      if knownModules.insert(module).inserted { modules.append(module) }
    case .end(let reason): endReason = reason
    case .heap(.bucket(let bucket)): buckets[bucket.id] = bucket
    case .heap(.counts(let latest)):
      for entry in latest {
        if buckets[entry.bucket] == nil { undefinedBuckets += 1 } else { counts[entry.bucket] = entry }
      }
    case .heap(.stats(let stats)): self.stats = stats
    default: break  // other modes' records
    }
  }

  /// Seconds from the start of the program to the peak of its heap.
  public var peakSeconds: Double? {
    guard let start, stats.peakMonotonicNanos >= start.monotonicNanos else { return nil }
    return Double(stats.peakMonotonicNanos - start.monotonicNanos) / 1e9
  }
}
