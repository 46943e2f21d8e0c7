import AgentStream
import Foundation
import Pprof
import ProfileBuilder
import Symbolization

/// Shapes a heap profile exactly as Go's runtime/pprof (protomem.go) does: sample
/// types alloc_objects, alloc_space, inuse_objects, inuse_space; period space/bytes
/// = the sampling rate; a numeric label `bytes` with the average block size; no
/// default sample type, so pprof shows inuse_space. Values are unbiased.
public enum HeapProfile {
  public static let sampleTypes = [
    ValueType(type: "alloc_objects", unit: "count"), ValueType(type: "alloc_space", unit: "bytes"),
    ValueType(type: "inuse_objects", unit: "count"), ValueType(type: "inuse_space", unit: "bytes"),
  ]

  public static func build(
    from collector: HeapCollector,
    durationNanos: Int64,
    symbolizer: Symbolizer?,
    comments: [String] = []
  ) -> (profile: Profile, warnings: [String]) {
    let rate = collector.stats.sampleRate
    var profile = Profile()
    profile.sampleTypes = sampleTypes
    profile.periodType = ValueType(type: "space", unit: "bytes")
    profile.period = Int64(rate)
    profile.timeNanos = Int64(collector.start?.realtimeNanos ?? 0)
    profile.durationNanos = durationNanos
    profile.comments = comments

    var builder = StackProfileBuilder(modules: collector.modules, hiddenModule: StackProfileBuilder.isAgent,
                                      foldedLeaf: isAllocationFunction)
    // By bucket id, so that the same run always gives the same file.
    for (id, counts) in collector.counts.sorted(by: { $0.key < $1.key }) where counts.allocObjects > 0 {
      guard let bucket = collector.buckets[id] else { continue }
      builder.add(stack: bucket.frames, values: values(counts, rate: rate),
                  labels: [Label(key: "bytes", value: .number(Int64(counts.allocBytes / counts.allocObjects), unit: ""))],
                  syntheticRoot: bucket.truncated ? StackProfileBuilder.truncatedFrame : nil)
    }
    let warnings = builder.build(into: &profile, symbolizer: symbolizer)
    return (profile, warnings)
  }

  /// alloc_objects, alloc_space, inuse_objects, inuse_space of one stack, unbiased.
  static func values(_ counts: HeapBucketCounts, rate: UInt64) -> [Int64] {
    let alloc = unbiased(objects: counts.allocObjects, bytes: counts.allocBytes, rate: rate)
    let inUse = unbiased(objects: counts.allocObjects &- counts.freeObjects,
                         bytes: counts.allocBytes &- counts.freeBytes, rate: rate)
    return [alloc.objects, alloc.bytes, inUse.objects, inUse.bytes]
  }

  /// Go's scaleHeapSample: a block of s bytes is sampled with probability
  /// 1 - exp(-s/rate), so each sampled one stands for 1/(1 - exp(-s/rate)) blocks.
  /// Rate 1 recorded every block: counts are exact, zero-sized blocks included.
  static func unbiased(objects: UInt64, bytes: UInt64, rate: UInt64) -> (objects: Int64, bytes: Int64) {
    guard objects > 0, objects < UInt64(Int64.max), bytes < UInt64(Int64.max) else { return (0, 0) }
    if rate <= 1 { return (Int64(objects), Int64(bytes)) }
    guard bytes > 0 else { return (0, 0) }
    let average = Double(bytes) / Double(objects)
    let scale = 1 / (1 - exp(-average / Double(rate)))
    return (Int64(Double(objects) * scale), Int64(Double(bytes) * scale))
  }

  /// Allocation entry points that would otherwise be the leaf of every stack: the
  /// Swift runtime's and C++'s operator new. Their callers are what users look for.
  static func isAllocationFunction(_ symbol: String) -> Bool {
    allocationFunctions.contains(symbol) || symbol.hasPrefix("_Znw") || symbol.hasPrefix("_Zna")
  }

  private static let allocationFunctions: Set<String> = [
    "swift_slowAlloc", "swift_slowAllocTyped", "swift_allocObject", "_swift_allocObject_",
    "swift_allocBox", "swift_allocEmptyBox", "swift_allocError", "swift_bufferAllocate",
    "swift_coroFrameAlloc", "swift_task_alloc",
  ]
}
