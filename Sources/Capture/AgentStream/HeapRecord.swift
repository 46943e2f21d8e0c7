import ProfStreamFormat

/// Heap mode's records: stacks of sampled allocations ("buckets"), their
/// cumulative sampled counts, and the exact totals of every allocation.
public enum HeapRecord: Equatable, Sendable {
  case bucket(HeapBucket)
  case counts([HeapBucketCounts])
  case stats(HeapStats)
}

public struct HeapBucket: Equatable, Sendable {
  public var id: UInt32
  /// frames[0] is a return address inside the agent's allocation hook.
  public var frames: [UInt64]
  public var truncated: Bool
  /// The Swift async contexts at its frames (BUCKET_ASYNC), as RawSample.asyncChains.
  public var asyncChains: [AsyncChain]

  public init(id: UInt32, frames: [UInt64], truncated: Bool, asyncChains: [AsyncChain] = []) {
    self.id = id
    self.frames = frames
    self.truncated = truncated
    self.asyncChains = asyncChains
  }
}

/// Cumulative since the start: the latest one wins. The sampled blocks, and what
/// they stand for.
public struct HeapBucketCounts: Equatable, Sendable {
  public var bucket: UInt32
  public var allocObjects: UInt64
  public var allocBytes: UInt64
  public var freeObjects: UInt64
  public var freeBytes: UInt64
  public var estimate: HeapEstimate

  /// `estimate` nil: every block was recorded (rate 1), the counts are exact.
  public init(bucket: UInt32, allocObjects: UInt64, allocBytes: UInt64, freeObjects: UInt64, freeBytes: UInt64,
              estimate: HeapEstimate? = nil) {
    self.bucket = bucket
    self.allocObjects = allocObjects
    self.allocBytes = allocBytes
    self.freeObjects = freeObjects
    self.freeBytes = freeBytes
    self.estimate = estimate ?? HeapEstimate(allocObjects: Double(allocObjects), allocBytes: allocBytes,
                                              freeObjects: Double(freeObjects), freeBytes: freeBytes)
  }
}

/// The blocks and bytes a bucket's sampled blocks stand for, each unbiased by its own
/// size when the agent recorded it (prof_heap_count in prof_stream.h).
public struct HeapEstimate: Equatable, Sendable {
  public var allocObjects: Double
  public var allocBytes: UInt64
  public var freeObjects: Double
  public var freeBytes: UInt64

  public init(allocObjects: Double, allocBytes: UInt64, freeObjects: Double, freeBytes: UInt64) {
    self.allocObjects = allocObjects
    self.allocBytes = allocBytes
    self.freeObjects = freeObjects
    self.freeBytes = freeBytes
  }
}

/// Exact totals over every allocation, cumulative: the latest one wins.
public struct HeapStats: Equatable, Sendable {
  public var sampleRate: UInt64 = 0
  public var allocations: UInt64 = 0
  public var allocatedBytes: UInt64 = 0
  public var frees: UInt64 = 0
  public var inUseBytes: Int64 = 0
  public var peakInUseBytes: UInt64 = 0
  public var peakMonotonicNanos: UInt64 = 0
  public var lostSamples: UInt64 = 0

  public init() {}
}

extension AgentStreamDecoder {
  /// HEAP_COUNTS and HEAP_STATS (a bucket takes its BUCKET_ASYNC: decodeRecord).
  func decodeHeap(type: UInt32, at base: Int, size: Int) throws(Failure) -> HeapRecord {
    func corrupt(_ what: String) -> Failure { .corruptRecord(offset: consumed + base, detail: what) }
    switch type {
    case UInt32(PROF_REC_HEAP_COUNTS.rawValue):
      return .counts(try decodeEntries(
        at: base, size: size, entriesOffset: MemoryLayout.offset(of: \prof_heap_counts_record.counts)!,
        count: \prof_heap_counts_record.count, max: PROF_HEAP_COUNTS_MAX,
        stride: MemoryLayout<prof_heap_count>.stride, what: "heap counts", decodeCount))
    default:
      guard size >= MemoryLayout<prof_heap_stats_record>.size else { throw corrupt("heap stats in \(size) bytes") }
      var stats = HeapStats()
      stats.sampleRate = field(\prof_heap_stats_record.sample_rate, of: base)
      stats.allocations = field(\prof_heap_stats_record.allocations, of: base)
      stats.allocatedBytes = field(\prof_heap_stats_record.allocated_bytes, of: base)
      stats.frees = field(\prof_heap_stats_record.frees, of: base)
      stats.inUseBytes = field(\prof_heap_stats_record.in_use_bytes, of: base)
      stats.peakInUseBytes = field(\prof_heap_stats_record.peak_in_use_bytes, of: base)
      stats.peakMonotonicNanos = field(\prof_heap_stats_record.peak_monotonic_ns, of: base)
      stats.lostSamples = field(\prof_heap_stats_record.lost_samples, of: base)
      return .stats(stats)
    }
  }

  /// A counts record's entries (HEAP_COUNTS, CONTENTION_COUNTS): a count, then that
  /// many entries of `stride` bytes from `entriesOffset`, all within the record.
  func decodeEntries<Record, Entry>(
    at base: Int, size: Int, entriesOffset: Int, count: KeyPath<Record, UInt32>, max: Int32,
    stride: Int, what: String, _ decode: (Int) -> Entry
  ) throws(Failure) -> [Entry] {
    func corrupt(_ detail: String) -> Failure { .corruptRecord(offset: consumed + base, detail: detail) }
    guard size >= entriesOffset else { throw corrupt("\(what) in \(size) bytes") }
    let entries = Int(field(count, of: base))
    guard entries <= Int(max), entriesOffset + stride * entries <= size else {
      throw corrupt("\(entries) \(what) in \(size) bytes")
    }
    return (0..<entries).map { decode(base + entriesOffset + stride * $0) }
  }

  /// HEAP_BUCKET's layout, which CONTENTION_BUCKET shares.
  func decodeBucket(at base: Int, size: Int, what: String) throws(Failure) -> HeapBucket {
    func corrupt(_ detail: String) -> Failure { .corruptRecord(offset: consumed + base, detail: detail) }
    let framesOffset = MemoryLayout.offset(of: \prof_heap_bucket_record.frames)!
    guard size >= framesOffset else { throw corrupt("\(what) in \(size) bytes") }
    let depth = Int(field(\prof_heap_bucket_record.depth, of: base))
    guard depth <= Int(PROF_MAX_FRAMES), framesOffset + 8 * depth <= size else {
      throw corrupt("\(what) of depth \(depth) in \(size) bytes")
    }
    return HeapBucket(
      id: field(\prof_heap_bucket_record.id, of: base),
      frames: (0..<depth).map { load(UInt64.self, at: base + framesOffset + 8 * $0) },
      truncated: field(\prof_heap_bucket_record.truncated, of: base) != 0)
  }

  private func decodeCount(at base: Int) -> HeapBucketCounts {
    // Objects in 1/PROF_HEAP_ESTIMATE_ONE units: below 2^53, exact as a Double.
    func objects(_ path: KeyPath<prof_heap_count, UInt64>) -> Double {
      Double(field(path, of: base)) / Double(PROF_HEAP_ESTIMATE_ONE)
    }
    let estimate = HeapEstimate(
      allocObjects: objects(\prof_heap_count.estimated_alloc_objects),
      allocBytes: field(\prof_heap_count.estimated_alloc_bytes, of: base),
      freeObjects: objects(\prof_heap_count.estimated_free_objects),
      freeBytes: field(\prof_heap_count.estimated_free_bytes, of: base))
    return HeapBucketCounts(
      bucket: field(\prof_heap_count.bucket, of: base),
      allocObjects: field(\prof_heap_count.alloc_objects, of: base), allocBytes: field(\prof_heap_count.alloc_bytes, of: base),
      freeObjects: field(\prof_heap_count.free_objects, of: base), freeBytes: field(\prof_heap_count.free_bytes, of: base),
      estimate: estimate)
  }
}
