import ProfStreamFormat

/// Contention mode's records: stacks that waited or released ("buckets", laid out
/// as heap buckets), their cumulative unbiased counts, and exact totals.
public enum ContentionRecord: Equatable, Sendable {
  case bucket(HeapBucket)
  case counts([ContentionCounts])
  case stats(ContentionStats)
}

/// Cumulative since the start, unbiased: the latest one wins. Block: waits on the
/// bucket's stack. Mutex: waits charged to the bucket's releases.
public struct ContentionCounts: Equatable, Sendable {
  public var bucket: UInt32
  public var blockContentions: Double
  public var blockDelayNanos: UInt64
  public var mutexContentions: Double
  public var mutexDelayNanos: UInt64

  public init(bucket: UInt32, blockContentions: Double, blockDelayNanos: UInt64, mutexContentions: Double,
              mutexDelayNanos: UInt64) {
    self.bucket = bucket
    self.blockContentions = blockContentions
    self.blockDelayNanos = blockDelayNanos
    self.mutexContentions = mutexContentions
    self.mutexDelayNanos = mutexDelayNanos
  }
}

/// Exact totals over every wait, sampled or not: the latest one wins.
public struct ContentionStats: Equatable, Sendable {
  public var blockRateNanos: UInt64 = 0
  public var mutexFraction: UInt64 = 0
  public var waits: UInt64 = 0
  public var waitNanos: UInt64 = 0
  public var lost: UInt64 = 0

  public init() {}
}

extension AgentStreamDecoder {
  /// CONTENTION_COUNTS and CONTENTION_STATS (a bucket takes its BUCKET_ASYNC: decodeRecord).
  func decodeContention(type: UInt32, at base: Int, size: Int) throws(Failure) -> ContentionRecord {
    func corrupt(_ what: String) -> Failure { .corruptRecord(offset: consumed + base, detail: what) }
    switch type {
    case UInt32(PROF_REC_CONTENTION_COUNTS.rawValue):
      return .counts(try decodeEntries(
        at: base, size: size, entriesOffset: MemoryLayout.offset(of: \prof_contention_counts_record.counts)!,
        count: \prof_contention_counts_record.count, max: PROF_CONTENTION_COUNTS_MAX,
        stride: MemoryLayout<prof_contention_count>.stride, what: "contention counts", decodeContentionCount))
    default:
      guard size >= MemoryLayout<prof_contention_stats_record>.size else { throw corrupt("contention stats in \(size) bytes") }
      var stats = ContentionStats()
      stats.blockRateNanos = field(\prof_contention_stats_record.block_rate_ns, of: base)
      stats.mutexFraction = field(\prof_contention_stats_record.mutex_fraction, of: base)
      stats.waits = field(\prof_contention_stats_record.waits, of: base)
      stats.waitNanos = field(\prof_contention_stats_record.wait_ns, of: base)
      stats.lost = field(\prof_contention_stats_record.lost, of: base)
      return .stats(stats)
    }
  }

  private func decodeContentionCount(at base: Int) -> ContentionCounts {
    // Events in 1/PROF_CONTENTION_ONE units: below 2^53, exact as a Double.
    func events(_ path: KeyPath<prof_contention_count, UInt64>) -> Double {
      Double(field(path, of: base)) / Double(PROF_CONTENTION_ONE)
    }
    return ContentionCounts(
      bucket: field(\prof_contention_count.bucket, of: base),
      blockContentions: events(\prof_contention_count.block_contentions),
      blockDelayNanos: field(\prof_contention_count.block_delay_ns, of: base),
      mutexContentions: events(\prof_contention_count.mutex_contentions),
      mutexDelayNanos: field(\prof_contention_count.mutex_delay_ns, of: base))
  }
}
