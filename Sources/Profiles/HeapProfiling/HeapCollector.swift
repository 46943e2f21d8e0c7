import AgentStream
import ProfileBuilder

/// Heap mode's stream: sampled allocation stacks, their counts, the exact totals.
public enum HeapMode: AggregatingMode {
  public static var noStats: HeapStats { HeapStats() }

  public static func part(of record: AgentRecord) -> AggregatedRecord<HeapBucketCounts, HeapStats>? {
    switch record {
    case .heap(.bucket(let bucket)): .bucket(bucket)
    case .heap(.counts(let counts)): .counts(counts)
    case .heap(.stats(let stats)): .stats(stats)
    default: nil
    }
  }
}

extension HeapBucketCounts: BucketCounts {}

/// Accumulates a heap-mode stream (fed by a recording session, from the program's
/// stream and from each child's).
public typealias HeapCollector = StackCountsCollector<HeapMode>

extension StackCountsCollector where Mode == HeapMode {
  /// Seconds from the start of the program to the peak of its heap.
  public var peakSeconds: Double? {
    guard let start, stats.peakMonotonicNanos >= start.monotonicNanos else { return nil }
    return Double(stats.peakMonotonicNanos - start.monotonicNanos) / 1e9
  }
}
