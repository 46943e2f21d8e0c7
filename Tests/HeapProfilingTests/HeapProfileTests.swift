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
}
