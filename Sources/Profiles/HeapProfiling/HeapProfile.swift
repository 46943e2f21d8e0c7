import AgentStream
import Foundation
import Pprof
import ProfileBuilder
import Symbolization

/// Shapes a heap profile exactly as Go's runtime/pprof (protomem.go) does: sample
/// types alloc_objects, alloc_space, inuse_objects, inuse_space; period space/bytes
/// = the sampling rate; a numeric label `bytes` with the average block size; no
/// default sample type, so pprof shows inuse_space. Values are unbiased, each block
/// by its own size, by the agent (HeapEstimate); Go scales a stack by its average
/// size instead, which counts a stack of mixed sizes far too few objects.
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
      builder.add(stack: bucket.frames, values: values(counts.estimate),
                  labels: [Label(key: "bytes", value: .number(averageBlockSize(counts.estimate), unit: ""))],
                  syntheticRoot: bucket.truncated ? StackProfileBuilder.truncatedFrame : nil, asyncChains: bucket.asyncChains)
    }
    let warnings = builder.build(into: &profile, symbolizer: symbolizer)
    return (profile, warnings)
  }

  /// alloc_objects, alloc_space, inuse_objects, inuse_space of one stack.
  static func values(_ estimate: HeapEstimate) -> [Int64] {
    [count(estimate.allocObjects), count(estimate.allocBytes),
     count(estimate.allocObjects - estimate.freeObjects), count(estimate.allocBytes &- estimate.freeBytes)]
  }

  /// The `bytes` label: the mean size of the blocks the stack allocated.
  static func averageBlockSize(_ estimate: HeapEstimate) -> Int64 {
    estimate.allocObjects > 0 ? count(Double(estimate.allocBytes) / estimate.allocObjects) : 0
  }

  /// Rounded to a whole count; 0 for what a corrupt stream makes negative or huge.
  private static func count(_ value: Double) -> Int64 {
    value >= 0 && value < 0x1p62 ? Int64(value.rounded()) : 0
  }

  private static func count(_ value: UInt64) -> Int64 { value < UInt64(Int64.max) ? Int64(value) : 0 }

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
