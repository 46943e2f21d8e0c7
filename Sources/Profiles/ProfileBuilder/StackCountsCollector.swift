import AgentStream
import Recording

/// A mode that aggregates in the target (heap, contention): the agent defines each
/// distinct stack once (a bucket), then sends the latest cumulative counts of the
/// buckets that changed, and its exact totals.
public protocol AggregatingMode {
  associatedtype Counts: BucketCounts
  associatedtype Stats
  static var noStats: Stats { get }
  /// This mode's part of a record; nil for the records of other modes.
  static func part(of record: AgentRecord) -> AggregatedRecord<Counts, Stats>?
}

/// The counts of one bucket, named by its id.
public protocol BucketCounts {
  var bucket: UInt32 { get }
}

public enum AggregatedRecord<Counts, Stats> {
  case bucket(HeapBucket)
  case counts([Counts])
  case stats(Stats)
}

/// Accumulates an aggregating mode's stream: stacks as the agent defines them, the
/// latest cumulative counts of each, and the agent's exact totals.
public struct StackCountsCollector<Mode: AggregatingMode>: RecordSink {
  public private(set) var start: StreamStart?
  public private(set) var modules: [LoadedModule] = []
  public private(set) var buckets: [UInt32: HeapBucket] = [:]
  public private(set) var counts: [UInt32: Mode.Counts] = [:]
  public private(set) var stats = Mode.noStats
  public private(set) var endReason: EndReason?
  /// Counts for a bucket the stream never defined: a corrupt stream, reported.
  public private(set) var undefinedBuckets = 0
  private var knownModules = Set<LoadedModule>()

  public init() {}

  /// What to tell the user about undefinedBuckets; nil when there were none.
  public var undefinedBucketsWarning: String? {
    undefinedBuckets > 0 ? "\(undefinedBuckets) counts named stacks the agent never sent" : nil
  }

  public mutating func consume(_ record: AgentRecord) {
    switch record {
    case .start(let start): self.start = start
    case .module(let module):
      if knownModules.insert(module).inserted { modules.append(module) }
    case .end(let reason): endReason = reason
    default:
      switch Mode.part(of: record) {
      case .bucket(let bucket)?: buckets[bucket.id] = bucket
      case .counts(let latest)?:
        for entry in latest {
          if buckets[entry.bucket] == nil { undefinedBuckets += 1 } else { counts[entry.bucket] = entry }
        }
      case .stats(let stats)?: self.stats = stats
      case nil: break  // other modes' records
      }
    }
  }
}
