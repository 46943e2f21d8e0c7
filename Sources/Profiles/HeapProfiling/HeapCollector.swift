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

  /// Allocations, frees, bytes and lost samples summed over the images; in use, the
  /// current image's (an exec drops the heap); the peak, the highest with its time.
  public static func combine(earlier: HeapStats, current: HeapStats) -> HeapStats {
    var stats = current
    if stats.sampleRate == 0 { stats.sampleRate = earlier.sampleRate }  // the new image has sent none yet
    stats.allocations &+= earlier.allocations
    stats.allocatedBytes &+= earlier.allocatedBytes
    stats.frees &+= earlier.frees
    stats.lostSamples &+= earlier.lostSamples
    if earlier.peakInUseBytes > current.peakInUseBytes {
      stats.peakInUseBytes = earlier.peakInUseBytes
      stats.peakMonotonicNanos = earlier.peakMonotonicNanos
    }
    return stats
  }
}

extension HeapBucketCounts: BucketCounts {
  /// Nothing in use: the kernel dropped the replaced image's memory.
  public func afterExec() -> HeapBucketCounts {
    var counts = self
    counts.freeObjects = allocObjects
    counts.freeBytes = allocBytes
    counts.estimate.freeObjects = estimate.allocObjects
    counts.estimate.freeBytes = estimate.allocBytes
    return counts
  }
}

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
