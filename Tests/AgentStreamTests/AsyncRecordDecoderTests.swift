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
    withUnsafeMutableBytes(of: &record.entries) { raw in
      for (index, entry) in entries.enumerated() {
        raw.storeBytes(of: prof_async_entry(frame: entry.frame, kind: entry.kind.rawValue, value: entry.value),
                       toByteOffset: MemoryLayout<prof_async_entry>.size * index, as: prof_async_entry.self)
      }
    }
    return bytes(of: record, size: Int(record.header.size))
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
}
