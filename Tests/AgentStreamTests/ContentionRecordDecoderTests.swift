import ProfStreamFormat
import XCTest

@testable import AgentStream

extension AgentStreamDecoderTests {
  func testDecodesContentionBucketsCountsAndStats() throws {
    var bucket = prof_heap_bucket_record()  // CONTENTION_BUCKET shares its layout
    let frames: [UInt64] = [0x30010, 0x10100]
    bucket.header = prof_record_header(type: UInt32(PROF_REC_CONTENTION_BUCKET.rawValue),
                                       size: UInt32(MemoryLayout.offset(of: \prof_heap_bucket_record.frames)! + 8 * frames.count))
    bucket.id = 2
    bucket.depth = UInt32(frames.count)
    withUnsafeMutableBytes(of: &bucket.frames) { raw in
      for (index, frame) in frames.enumerated() { raw.storeBytes(of: frame, toByteOffset: 8 * index, as: UInt64.self) }
    }
    var counts = prof_contention_counts_record()
    counts.count = 1
    counts.header = prof_record_header(type: UInt32(PROF_REC_CONTENTION_COUNTS.rawValue),
                                       size: UInt32(MemoryLayout.offset(of: \prof_contention_counts_record.counts)! + MemoryLayout<prof_contention_count>.stride))
    let one = UInt64(PROF_CONTENTION_ONE)
    withUnsafeMutableBytes(of: &counts.counts) { raw in
      raw.storeBytes(of: prof_contention_count(bucket: 2, reserved: 0, block_contentions: 3 * one + one / 2, block_delay_ns: 7000,
                                               mutex_contentions: one, mutex_delay_ns: 900),
                     as: prof_contention_count.self)
    }
    var stats = prof_contention_stats_record()
    stats.header = prof_record_header(type: UInt32(PROF_REC_CONTENTION_STATS.rawValue),
                                      size: UInt32(MemoryLayout<prof_contention_stats_record>.size))
    stats.block_rate_ns = 10
    stats.waits = 4
    stats.wait_ns = 8000
    stats.lost = 1

    let stream = streamHeader + bytes(of: bucket, size: Int(bucket.header.size)) + bytes(of: counts, size: Int(counts.header.size))
      + bytes(of: stats)
    let records = try decodeAll(stream, chunk: 11)
    XCTAssertEqual(records.count, 3)
    XCTAssertEqual(records[0], .contention(.bucket(HeapBucket(id: 2, frames: frames, truncated: false))))
    XCTAssertEqual(records[1], .contention(.counts([
      ContentionCounts(bucket: 2, blockContentions: 3.5, blockDelayNanos: 7000, mutexContentions: 1, mutexDelayNanos: 900),
    ])))
    guard case .contention(.stats(let decoded)) = records[2] else { return XCTFail("\(records[2])") }
    XCTAssertEqual([decoded.blockRateNanos, decoded.mutexFraction, decoded.waits, decoded.waitNanos, decoded.lost], [10, 0, 4, 8000, 1])
  }

  func testRejectsContentionCountsOverrunningTheirRecord() {
    var counts = prof_contention_counts_record()
    counts.count = 2
    counts.header = prof_record_header(type: UInt32(PROF_REC_CONTENTION_COUNTS.rawValue), size: 56)
    var decoder = AgentStreamDecoder()
    decoder.append(streamHeader + bytes(of: counts, size: 56))
    XCTAssertThrowsError(try decoder.next())
  }

  func testDecodesLockWaits() throws {
    var wait = prof_lock_wait_record()
    wait.header = prof_record_header(type: UInt32(PROF_REC_LOCK_WAIT.rawValue), size: UInt32(MemoryLayout<prof_lock_wait_record>.size))
    wait.tid = 12
    wait.holder_tid = 34
    wait.lock = 0x7f00_1234_5678
    wait.start_ns = 1_000
    wait.end_ns = 51_000
    let records = try decodeAll(streamHeader + bytes(of: wait), chunk: 7)
    XCTAssertEqual(records, [.lockWait(LockWait(tid: 12, holderTID: 34, lockAddress: 0x7f00_1234_5678, startNanos: 1_000, endNanos: 51_000))])
  }
}
