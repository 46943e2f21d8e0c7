import ProfStreamFormat
import XCTest

@testable import AgentStream

/// ASYNC records (Sources/Agent/STREAM.md) built from the C structs the agent writes.
final class AsyncRecordDecoderTests: XCTestCase {
  private typealias Entry = (frame: UInt32, kind: prof_async_kind, value: UInt64)

  private func asyncRecord(tid: UInt32, nanos: UInt64, _ entries: [Entry]) -> [UInt8] {
    var record = prof_async_record()
    let entriesOffset = MemoryLayout.offset(of: \prof_async_record.entries)!
    record.header = prof_record_header(type: UInt32(PROF_REC_ASYNC.rawValue),
                                       size: UInt32(entriesOffset + MemoryLayout<prof_async_entry>.size * entries.count))
    record.tid = tid
    record.count = UInt32(entries.count)
    record.monotonic_ns = nanos
    withUnsafeMutableBytes(of: &record.entries) { store(entries, in: $0) }
    return bytes(of: record, size: Int(record.header.size))
  }

  private func store(_ entries: [Entry], in raw: UnsafeMutableRawBufferPointer) {
    for (index, entry) in entries.enumerated() {
      raw.storeBytes(of: prof_async_entry(frame: entry.frame, kind: entry.kind.rawValue, value: entry.value),
                     toByteOffset: MemoryLayout<prof_async_entry>.size * index, as: prof_async_entry.self)
    }
  }

  private func bucketAsyncRecord(of type: prof_record_type, bucket: UInt32, _ entries: [Entry]) -> [UInt8] {
    var record = prof_bucket_async_record()
    let entriesOffset = MemoryLayout.offset(of: \prof_bucket_async_record.entries)!
    record.header = prof_record_header(type: UInt32(PROF_REC_BUCKET_ASYNC.rawValue),
                                       size: UInt32(entriesOffset + MemoryLayout<prof_async_entry>.size * entries.count))
    record.bucket_type = type.rawValue
    record.bucket = bucket
    record.count = UInt32(entries.count)
    withUnsafeMutableBytes(of: &record.entries) { store(entries, in: $0) }
    return bytes(of: record, size: Int(record.header.size))
  }

  private func bucketRecord(of type: prof_record_type, id: UInt32, depth: Int) -> [UInt8] {
    var bucket = prof_heap_bucket_record()
    bucket.header = prof_record_header(type: type.rawValue,
                                       size: UInt32(MemoryLayout.offset(of: \prof_heap_bucket_record.frames)! + 8 * depth))
    bucket.id = id
    bucket.depth = UInt32(depth)
    return bytes(of: bucket, size: Int(bucket.header.size))
  }

  /// The async chains of each bucket the stream defines, heap and contention alike.
  private func bucketChains(_ stream: [UInt8]) throws -> [[AsyncChain]] {
    var decoder = AgentStreamDecoder()
    decoder.append(streamHeader + stream)
    var chains: [[AsyncChain]] = []
    while let record = try decoder.next() {
      if case .heap(.bucket(let bucket)) = record { chains.append(bucket.asyncChains) }
      if case .contention(.bucket(let bucket)) = record { chains.append(bucket.asyncChains) }
    }
    XCTAssertNil(decoder.skippedSummary, "BUCKET_ASYNC is a known record")
    return chains
  }

  private func sampleRecord(tid: UInt32, nanos: UInt64, depth: Int) -> [UInt8] {
    var sample = prof_sample_record()
    sample.header = prof_record_header(type: UInt32(PROF_REC_SAMPLE.rawValue),
                                       size: UInt32(MemoryLayout.offset(of: \prof_sample_record.frames)! + 8 * depth))
    sample.tid = tid
    sample.weight = 1
    sample.monotonic_ns = nanos
    sample.depth = UInt32(depth)
    return bytes(of: sample, size: Int(sample.header.size))
  }

  private func samples(_ stream: [UInt8]) throws -> [RawSample] {
    var decoder = AgentStreamDecoder()
    decoder.append(streamHeader + stream)
    var samples: [RawSample] = []
    while let record = try decoder.next() {
      if case .sample(let sample) = record { samples.append(sample) }
    }
    XCTAssertNil(decoder.skippedSummary, "ASYNC is a known record")
    return samples
  }

  func testChainsAttachToTheSampleOfTheirThreadAndTimeEvenWithOtherRecordsBetween() throws {
    let chains = asyncRecord(tid: 5, nanos: 40, [
      (0, PROF_ASYNC_REGISTER, 0x7000), (0, PROF_ASYNC_RESUME, 0xa1), (0, PROF_ASYNC_RESUME, 0xa2), (0, PROF_ASYNC_END, 0),
      (2, PROF_ASYNC_FRAME_SLOT, 0x7000),  // the same context again: it shares the chain above
      (3, PROF_ASYNC_REGISTER, 0x9000), (3, PROF_ASYNC_RESUME, 0xb1),  // cut short: no END
    ])
    let stream = chains + sampleRecord(tid: 6, nanos: 40, depth: 4) + sampleRecord(tid: 5, nanos: 40, depth: 4)
      + sampleRecord(tid: 5, nanos: 50, depth: 4)
    let decoded = try samples(stream)
    XCTAssertEqual(decoded.map(\.tid), [6, 5, 5])
    XCTAssertEqual(decoded[0].asyncChains, [], "another thread's sample")
    XCTAssertEqual(decoded[1].asyncChains, [
      AsyncChain(frame: 0, source: .register, resumeFunctions: [0xa1, 0xa2], reachedEntry: true),
      AsyncChain(frame: 2, source: .frameSlot, resumeFunctions: [0xa1, 0xa2], reachedEntry: true),
      AsyncChain(frame: 3, source: .register, resumeFunctions: [0xb1], reachedEntry: false),
    ])
    XCTAssertEqual(decoded[2].asyncChains, [], "the next sample of the thread has none of them")
  }

  func testChainsOfAnotherTimeOrPastTheStackAreDropped() throws {
    let stream = asyncRecord(tid: 5, nanos: 39, [(0, PROF_ASYNC_REGISTER, 0x7000), (0, PROF_ASYNC_RESUME, 0xa1)])
      + sampleRecord(tid: 5, nanos: 40, depth: 2)
      + asyncRecord(tid: 5, nanos: 41, [(9, PROF_ASYNC_REGISTER, 0x7000), (9, PROF_ASYNC_RESUME, 0xa1)])
      + sampleRecord(tid: 5, nanos: 41, depth: 2)
    XCTAssertEqual(try samples(stream).map(\.asyncChains), [[], []])
  }

  func testAnAsyncRecordCountingMoreEntriesThanItHoldsIsRejected() {
    var record = asyncRecord(tid: 5, nanos: 40, [(0, PROF_ASYNC_REGISTER, 0x7000)])
    record[MemoryLayout.offset(of: \prof_async_record.count)!] = 3
    var decoder = AgentStreamDecoder()
    decoder.append(streamHeader + record)
    XCTAssertThrowsError(try decoder.next())
  }

  func testBucketChainsAttachToTheBucketTheyPrecedeOfTheirTypeAndId() throws {
    let entries: [Entry] = [(1, PROF_ASYNC_REGISTER, 1), (1, PROF_ASYNC_RESUME, 0xa1), (1, PROF_ASYNC_END, 0),
                            (3, PROF_ASYNC_FRAME_SLOT, 1), (9, PROF_ASYNC_REGISTER, 2), (9, PROF_ASYNC_RESUME, 0xb1)]
    let stream = bucketAsyncRecord(of: PROF_REC_HEAP_BUCKET, bucket: 0, entries) + bucketRecord(of: PROF_REC_HEAP_BUCKET, id: 0, depth: 4)
      + bucketRecord(of: PROF_REC_HEAP_BUCKET, id: 1, depth: 4)
      + bucketAsyncRecord(of: PROF_REC_CONTENTION_BUCKET, bucket: 2, entries) + bucketRecord(of: PROF_REC_HEAP_BUCKET, id: 2, depth: 4)
      + bucketAsyncRecord(of: PROF_REC_CONTENTION_BUCKET, bucket: 0, entries) + bucketRecord(of: PROF_REC_CONTENTION_BUCKET, id: 0, depth: 4)
    let chain = AsyncChain(frame: 1, source: .register, resumeFunctions: [0xa1], reachedEntry: true)
    let shared = AsyncChain(frame: 3, source: .frameSlot, resumeFunctions: [0xa1], reachedEntry: true)
    XCTAssertEqual(try bucketChains(stream), [
      [chain, shared],  // frame 9 is past the stack
      [],  // no BUCKET_ASYNC before it
      [],  // a contention bucket's chains are not a heap bucket's
      [chain, shared],
    ])
  }

  func testABucketAsyncRecordCountingMoreEntriesThanItHoldsIsRejected() {
    var record = bucketAsyncRecord(of: PROF_REC_HEAP_BUCKET, bucket: 0, [(0, PROF_ASYNC_REGISTER, 1)])
    record[MemoryLayout.offset(of: \prof_bucket_async_record.count)!] = 65
    var decoder = AgentStreamDecoder()
    decoder.append(streamHeader + record)
    XCTAssertThrowsError(try decoder.next())
  }

  func testATaskCandidateCarriesTheFunctionItsJobResumedSharedChainOrNot() throws {
    let stream = asyncRecord(tid: 5, nanos: 40, [
      (1, PROF_ASYNC_REGISTER, 0x7000), (1, PROF_ASYNC_RESUME, 0xa1), (1, PROF_ASYNC_END, 0),
      (1, PROF_ASYNC_TASK, 0x7000), (1, PROF_ASYNC_RESUMED, 0xf1),  // the register's context: its chain
      (1, PROF_ASYNC_TASK, 0x8000), (1, PROF_ASYNC_RESUMED, 0xf2), (1, PROF_ASYNC_RESUME, 0xb1),
      (1, PROF_ASYNC_RESUMED, 0xf3),  // not after a task candidate: ignored
    ]) + sampleRecord(tid: 5, nanos: 40, depth: 2)
    XCTAssertEqual(try samples(stream).first?.asyncChains, [
      AsyncChain(frame: 1, source: .register, resumeFunctions: [0xa1], reachedEntry: true),
      AsyncChain(frame: 1, source: .task, resumeFunctions: [0xa1], reachedEntry: true, resumedFunction: 0xf1),
      AsyncChain(frame: 1, source: .task, resumeFunctions: [0xb1], reachedEntry: false, resumedFunction: 0xf2),
    ])
  }
}
