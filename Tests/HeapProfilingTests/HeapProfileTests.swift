@testable import AgentStream
import Pprof
import Symbolization
import XCTest

@testable import HeapProfiling

/// Answers from a table keyed by file address.
private struct TableSymbolizer: Symbolizer {
  var table: [UInt64: [SourceFrame]]

  func symbolize(addresses: [UInt64], inFile path: String) throws -> [[SourceFrame]] {
    addresses.map { table[$0] ?? [] }
  }
}

final class HeapProfileTests: XCTestCase {
  private let main = LoadedModule(start: 0x10000, limit: 0x20000, fileOffset: 0, loadBias: 0x10000, buildID: [1],
                                  path: "/app/main")
  private let agent = LoadedModule(start: 0x30000, limit: 0x31000, fileOffset: 0, loadBias: 0x30000, buildID: [],
                                   path: "/app/libProfAgent.so")
  private let symbolizer = TableSymbolizer(table: [
    0x0ff: [SourceFrame(symbol: "swift_slowAlloc")],
    0x1ff: [SourceFrame(symbol: "swift_allocObject")],
    0x2ff: [SourceFrame(symbol: "$s4main4leakyyF", file: "main.swift", line: 7)],
    0x3ff: [SourceFrame(symbol: "main", file: "main.swift", line: 20)],
  ])

  private func collector(rate: UInt64, _ counts: [HeapBucketCounts]) -> HeapCollector {
    var collector = HeapCollector()
    var stats = HeapStats()
    stats.sampleRate = rate
    stats.allocations = 12
    stats.frees = 6
    stats.allocatedBytes = 2688
    stats.peakInUseBytes = 4096
    stats.inUseBytes = 1536
    stats.peakMonotonicNanos = 1_500_000_000
    let records: [AgentRecord] = [
      .start(StreamStart(pid: 1, hz: 0, realtimeNanos: 0, monotonicNanos: 1_000_000_000)),
      .module(main), .module(agent),
      .heap(.bucket(HeapBucket(id: 0, frames: [0x30010, 0x10100, 0x10200, 0x10300, 0x10400], truncated: false))),
      .heap(.bucket(HeapBucket(id: 1, frames: [0x30010, 0x10300, 0x10400], truncated: true))),
      .heap(.counts(counts)), .heap(.stats(stats)),
    ]
    records.forEach { collector.consume($0) }
    return collector
  }

  func testHasGoHeapShapeAndFoldsRuntimeAllocationFrames() throws {
    let counts = [HeapBucketCounts(bucket: 0, allocObjects: 10, allocBytes: 640, freeObjects: 4, freeBytes: 256),
                  HeapBucketCounts(bucket: 1, allocObjects: 2, allocBytes: 2048, freeObjects: 2, freeBytes: 2048)]
    let (profile, warnings) = HeapProfile.build(from: collector(rate: 1, counts), durationNanos: 5, symbolizer: symbolizer)
    XCTAssertEqual(warnings, [])
    XCTAssertNoThrow(try profile.validate())
    XCTAssertEqual(profile.sampleTypes.map(\.type), ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"])
    XCTAssertEqual(profile.periodType, ValueType(type: "space", unit: "bytes"))
    XCTAssertEqual(profile.period, 1)
    XCTAssertEqual(profile.defaultSampleType, "")
    XCTAssertEqual(profile.samples.map(\.values), [[10, 640, 6, 384], [2, 2048, 0, 0]], "rate 1 is exact")
    XCTAssertEqual(profile.samples[0].labels, [Label(key: "bytes", value: .number(64, unit: ""))])

    func names(_ sample: Sample) -> [String] {
      sample.locationIDs.map { id in
        let location = profile.locations.first { $0.id == id }!
        return profile.functions[Int(location.lines[0].functionID) - 1].name
      }
    }
    XCTAssertEqual(names(profile.samples[0]), ["main.leak()", "main"], "agent and runtime frames fold away")
    XCTAssertEqual(names(profile.samples[1]), ["main.leak()", "main", "[truncated stack]"])
  }

  /// The agent's per-block estimates, not the sampled counts, are the profile's values.
  func testValuesAreTheAgentsPerBlockEstimates() throws {
    let estimate = HeapEstimate(allocObjects: 98_304.5, allocBytes: 111_000_000, freeObjects: 16_384.25, freeBytes: 1_048_576)
    let counts = [HeapBucketCounts(bucket: 0, allocObjects: 14, allocBytes: 3 * 1_048_576 + 11 * 64, freeObjects: 1,
                                   freeBytes: 64, estimate: estimate)]
    let profile = HeapProfile.build(from: collector(rate: 512 * 1024, counts), durationNanos: 0, symbolizer: symbolizer).profile
    XCTAssertEqual(profile.samples.map(\.values), [[98_305, 111_000_000, 81_920, 109_951_424]])
    XCTAssertEqual(profile.samples[0].labels, [Label(key: "bytes", value: .number(1129, unit: ""))], "mean block size")
    XCTAssertEqual(profile.period, 512 * 1024)
  }

  func testSummaryNamesTotalsPeakAndLeakingStacks() {
    let counts = [HeapBucketCounts(bucket: 0, allocObjects: 10, allocBytes: 640, freeObjects: 4, freeBytes: 256),
                  HeapBucketCounts(bucket: 1, allocObjects: 2, allocBytes: 2048, freeObjects: 2, freeBytes: 2048)]
    let collector = collector(rate: 1, counts)
    let profile = HeapProfile.build(from: collector, durationNanos: 0, symbolizer: symbolizer).profile
    XCTAssertEqual(HeapSummary.lines(collector, profile), [
      "12 allocations, 6 frees, 2.6 KiB allocated; heap peak 4.0 KiB at 0.50 s; in use at exit 384 B in 6 blocks",
      "top leaking stacks (in use at exit):",
      "  384 B in 6 blocks: main.leak() < main",
    ])
  }

  /// Sampled: the blocks and heap bytes in use come from the agent's exact counters
  /// (a program of small blocks leaves none sampled), the stacks' share is estimated.
  func testSampledSummaryGivesTheExactBlocksInUse() {
    let counts = [HeapBucketCounts(bucket: 0, allocObjects: 10, allocBytes: 640, freeObjects: 4, freeBytes: 256)]
    let collector = collector(rate: 524_288, counts)
    let profile = HeapProfile.build(from: collector, durationNanos: 0, symbolizer: symbolizer).profile
    XCTAssertEqual(HeapSummary.lines(collector, profile).first,
                   "12 allocations, 6 frees, 2.6 KiB allocated; heap peak 4.0 KiB at 0.50 s; in use at exit 6 blocks, "
                     + "1.5 KiB of heap; the sampled stacks hold 384 B in 6 blocks (estimated)")
  }

  func testCountsOfUndefinedBucketsAreCountedNotUsed() {
    let collector = collector(rate: 1, [HeapBucketCounts(bucket: 9, allocObjects: 1, allocBytes: 1, freeObjects: 0, freeBytes: 0)])
    XCTAssertEqual(collector.undefinedBuckets, 1)
    XCTAssertEqual(HeapProfile.build(from: collector, durationNanos: 0, symbolizer: nil).profile.samples.count, 0)
  }

  /// An exec'd program continues the stream with a START of its own: its agent numbers
  /// buckets from 0 again, the replaced image's memory is gone, the totals add up.
  func testALaterStartIsANewProcessImage() throws {
    let wrapper = LoadedModule(start: 0x50000, limit: 0x60000, fileOffset: 0, loadBias: 0x50000, buildID: [2], path: "/bin/sh")
    func stats(allocations: UInt64, frees: UInt64, bytes: UInt64, inUse: Int64, peak: UInt64, at time: UInt64, lost: UInt64) -> HeapStats {
      var stats = HeapStats()
      stats.sampleRate = 512
      stats.allocations = allocations
      stats.frees = frees
      stats.allocatedBytes = bytes
      stats.inUseBytes = inUse
      stats.peakInUseBytes = peak
      stats.peakMonotonicNanos = time
      stats.lostSamples = lost
      return stats
    }
    var collector = HeapCollector()
    let records: [AgentRecord] = [
      .start(StreamStart(pid: 7, hz: 0, realtimeNanos: 5, monotonicNanos: 1_000_000_000)),
      .module(wrapper), .module(agent),
      .heap(.bucket(HeapBucket(id: 0, frames: [0x30010, 0x50400], truncated: false))),
      .heap(.counts([HeapBucketCounts(bucket: 0, allocObjects: 3, allocBytes: 300, freeObjects: 1, freeBytes: 100)])),
      .heap(.stats(stats(allocations: 200, frees: 150, bytes: 20_000, inUse: 5_000, peak: 9_000, at: 1_200_000_000, lost: 1))),
      .start(StreamStart(pid: 7, hz: 0, realtimeNanos: 6, monotonicNanos: 2_000_000_000)),
      .module(main), .module(agent),
      .heap(.bucket(HeapBucket(id: 0, frames: [0x30010, 0x10300, 0x10400], truncated: false))),  // the same id, another stack
      .heap(.counts([HeapBucketCounts(bucket: 0, allocObjects: 10, allocBytes: 640, freeObjects: 4, freeBytes: 256)])),
      .heap(.stats(stats(allocations: 1_000, frees: 400, bytes: 64_000, inUse: 4_000, peak: 8_000, at: 2_500_000_000, lost: 2))),
      .end(.exit),
    ]
    records.forEach { collector.consume($0) }

    XCTAssertEqual(collector.start?.realtimeNanos, 5, "the run starts with the first image")
    XCTAssertEqual(collector.modules.map(\.path), ["/app/main", "/bin/sh", "/app/libProfAgent.so"],
                   "the program that ran last is mapping[0]; a module met again (same place) is listed once, where first met")
    XCTAssertEqual(collector.buckets.count, 2, "colliding ids stay apart")
    XCTAssertEqual(Set(collector.buckets.values.map(\.frames)), [[0x30010, 0x50400], [0x30010, 0x10300, 0x10400]])
    XCTAssertEqual(collector.undefinedBuckets, 0)
    let stats = collector.stats
    XCTAssertEqual(stats.allocations, 1_200)
    XCTAssertEqual(stats.frees, 550)
    XCTAssertEqual(stats.allocatedBytes, 84_000)
    XCTAssertEqual(stats.lostSamples, 3)
    XCTAssertEqual(stats.inUseBytes, 4_000, "the last image's")
    XCTAssertEqual(stats.peakInUseBytes, 9_000)
    XCTAssertEqual(stats.peakMonotonicNanos, 1_200_000_000, "the peak's time goes with it")
    XCTAssertEqual(stats.sampleRate, 512)

    let profile = HeapProfile.build(from: collector, durationNanos: 0, symbolizer: symbolizer).profile
    XCTAssertEqual(profile.samples.map(\.values), [[3, 300, 0, 0], [10, 640, 6, 384]],
                   "the replaced image's allocations stay, its blocks are no longer in use")
    XCTAssertEqual(profile.mappings.first?.filename, "/app/main")
    let summary = try XCTUnwrap(HeapSummary.lines(collector, profile).first)
    XCTAssertTrue(summary.hasPrefix("1200 allocations, 550 frees, "), summary)
    XCTAssertTrue(summary.contains("in use at exit 600 blocks, "), "the last image's blocks, not the replaced one's: \(summary)")
  }
}
