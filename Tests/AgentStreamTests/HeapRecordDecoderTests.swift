import ProfStreamFormat
import XCTest

@testable import AgentStream

extension AgentStreamDecoderTests {
  func testDecodesHeapBucketsCountsAndStats() throws {
    var bucket = prof_heap_bucket_record()
    let frames: [UInt64] = [0x30010, 0x10100, 0x10200]
    bucket.header = prof_record_header(type: UInt32(PROF_REC_HEAP_BUCKET.rawValue),
                                       size: UInt32(MemoryLayout.offset(of: \prof_heap_bucket_record.frames)! + 8 * frames.count))
    bucket.id = 7
    bucket.depth = UInt32(frames.count)
    bucket.truncated = 1
    withUnsafeMutableBytes(of: &bucket.frames) { raw in
      for (index, frame) in frames.enumerated() { raw.storeBytes(of: frame, toByteOffset: 8 * index, as: UInt64.self) }
    }
    var counts = prof_heap_counts_record()
    counts.count = 2
    counts.header = prof_record_header(type: UInt32(PROF_REC_HEAP_COUNTS.rawValue),
                                       size: UInt32(MemoryLayout.offset(of: \prof_heap_counts_record.counts)! + 2 * MemoryLayout<prof_heap_count>.stride))
    withUnsafeMutableBytes(of: &counts.counts) { raw in
      let one = UInt64(PROF_HEAP_ESTIMATE_ONE)
      raw.storeBytes(of: prof_heap_count(bucket: 7, reserved: 0, alloc_objects: 3, alloc_bytes: 300, free_objects: 1, free_bytes: 100,
                                         estimated_alloc_objects: 5 * one + one / 4, estimated_alloc_bytes: 3000,
                                         estimated_free_objects: one + one / 2, estimated_free_bytes: 1000),
                     as: prof_heap_count.self)
      raw.storeBytes(of: prof_heap_count(bucket: 8, reserved: 0, alloc_objects: 1, alloc_bytes: 16, free_objects: 0, free_bytes: 0,
                                         estimated_alloc_objects: one, estimated_alloc_bytes: 16,
                                         estimated_free_objects: 0, estimated_free_bytes: 0),
                     toByteOffset: MemoryLayout<prof_heap_count>.stride, as: prof_heap_count.self)
    }
    var stats = prof_heap_stats_record()
    stats.header = prof_record_header(type: UInt32(PROF_REC_HEAP_STATS.rawValue), size: UInt32(MemoryLayout<prof_heap_stats_record>.size))
    stats.sample_rate = 524288
    stats.in_use_bytes = -5
    stats.peak_in_use_bytes = 4096

    let stream = streamHeader + bytes(of: bucket, size: Int(bucket.header.size)) + bytes(of: counts, size: Int(counts.header.size))
      + bytes(of: stats)
    let records = try decodeAll(stream, chunk: 13)
    XCTAssertEqual(records.count, 3)
    XCTAssertEqual(records[0], .heap(.bucket(HeapBucket(id: 7, frames: frames, truncated: true))))
    XCTAssertEqual(records[1], .heap(.counts([
      HeapBucketCounts(bucket: 7, allocObjects: 3, allocBytes: 300, freeObjects: 1, freeBytes: 100,
                       estimate: HeapEstimate(allocObjects: 5.25, allocBytes: 3000, freeObjects: 1.5, freeBytes: 1000)),
      HeapBucketCounts(bucket: 8, allocObjects: 1, allocBytes: 16, freeObjects: 0, freeBytes: 0),
    ])))
    guard case .heap(.stats(let decoded)) = records[2] else { return XCTFail("\(records[2])") }
    XCTAssertEqual(decoded.sampleRate, 524288)
    XCTAssertEqual(decoded.inUseBytes, -5)
    XCTAssertEqual(decoded.peakInUseBytes, 4096)
  }

  func testRejectsHeapCountsOverrunningTheirRecord() {
    var counts = prof_heap_counts_record()
    counts.count = 3
    counts.header = prof_record_header(type: UInt32(PROF_REC_HEAP_COUNTS.rawValue), size: 56)
    var decoder = AgentStreamDecoder()
    decoder.append(streamHeader + bytes(of: counts, size: 56))
    XCTAssertThrowsError(try decoder.next())
  }
}
