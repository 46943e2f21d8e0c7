import ProfStreamFormat
import XCTest

@testable import AgentStream

/// Streams built from the C structs the agent writes, so layout drift breaks these tests.
final class AgentStreamDecoderTests: XCTestCase {
  private func sampleRecord(tid: UInt32, frames: [UInt64]) -> [UInt8] {
    var sample = prof_sample_record()
    sample.header.type = UInt32(PROF_REC_SAMPLE.rawValue)
    sample.header.size = UInt32(MemoryLayout.offset(of: \prof_sample_record.frames)! + 8 * frames.count)
    sample.tid = tid
    sample.weight = 2
    sample.monotonic_ns = 99
    sample.depth = UInt32(frames.count)
    withUnsafeMutableBytes(of: &sample.frames) { raw in
      for (index, frame) in frames.enumerated() { raw.storeBytes(of: frame, toByteOffset: 8 * index, as: UInt64.self) }
    }
    return bytes(of: sample, size: Int(sample.header.size))
  }

  private func moduleRecord(path: String, buildID: [UInt8]) -> [UInt8] {
    var module = prof_module_record()
    let unpadded = MemoryLayout<prof_module_record>.size + buildID.count + path.utf8.count
    module.header = prof_record_header(type: UInt32(PROF_REC_MODULE.rawValue), size: UInt32((unpadded + 7) / 8 * 8))
    module.start = 0x1000
    module.limit = 0x2000
    module.file_offset = 0x1000
    module.load_bias = 0x400
    module.build_id_len = UInt32(buildID.count)
    module.path_len = UInt32(path.utf8.count)
    let record = bytes(of: module) + buildID + Array(path.utf8)
    return record + [UInt8](repeating: 0, count: Int(module.header.size) - record.count)
  }

  func decodeAll(_ stream: [UInt8], chunk: Int) throws -> [AgentRecord] {
    let (records, decoder) = try decodeInChunks(stream, chunk: chunk)
    XCTAssertEqual(decoder.pendingByteCount, 0)
    return records
  }

  func testDecodesRecordsFedInAnyChunks() throws {
    var end = prof_end_record()
    end.header = prof_record_header(type: UInt32(PROF_REC_END.rawValue), size: 16)
    end.reason = UInt32(PROF_END_DURATION.rawValue)
    var thread = prof_thread_record()
    thread.header = prof_record_header(type: UInt32(PROF_REC_THREAD.rawValue), size: 32)
    thread.tid = 7
    withUnsafeMutableBytes(of: &thread.name) { $0.copyBytes(from: Array("worker".utf8)) }
    let stream = streamHeader + sampleRecord(tid: 7, frames: [0x1111, 0x2222]) + bytes(of: thread)
      + moduleRecord(path: "/usr/lib/libfoo.so", buildID: [0xab, 0x01]) + bytes(of: end)
    let expected: [AgentRecord] = [
      .sample(RawSample(tid: 7, weight: 2, monotonicNanos: 99, threadCPUNanos: 0, frames: [0x1111, 0x2222],
                        truncated: false)),
      .thread(tid: 7, name: "worker"),
      .module(LoadedModule(start: 0x1000, limit: 0x2000, fileOffset: 0x1000, loadBias: 0x400,
                           buildID: [0xab, 0x01], path: "/usr/lib/libfoo.so")),
      .end(.duration),
    ]
    for chunk in [1, 3, 8, 1000] {
      XCTAssertEqual(try decodeAll(stream, chunk: chunk), expected, "chunk \(chunk)")
    }
    if case .module(let module) = expected[2] { XCTAssertEqual(module.buildIDHex, "ab01") }
  }

  func testRejectsAForeignStream() {
    var decoder = AgentStreamDecoder()
    decoder.append(Array("this is not the agent talking".utf8))
    XCTAssertThrowsError(try decoder.next()) { XCTAssertEqual($0 as? AgentStreamDecoder.Failure, .notAnAgentStream) }
  }

  func testRejectsImpossibleSizes() {
    var decoder = AgentStreamDecoder()
    decoder.append(streamHeader + bytes(of: prof_record_header(type: 2, size: 12)))
    XCTAssertThrowsError(try decoder.next()) {
      XCTAssertEqual($0 as? AgentStreamDecoder.Failure, .corruptRecord(offset: 16, detail: "size 12"))
    }
  }

  func testRejectsASampleDeeperThanItsRecord() {
    var record = sampleRecord(tid: 1, frames: [1])
    record[MemoryLayout.offset(of: \prof_sample_record.depth)!] = 5  // depth 5 in a record holding one frame
    var decoder = AgentStreamDecoder()
    decoder.append(streamHeader + record)
    XCTAssertThrowsError(try decoder.next())
  }

  func testAPartialRecordWaitsForMoreBytes() throws {
    var decoder = AgentStreamDecoder()
    let record = sampleRecord(tid: 1, frames: [1, 2, 3])
    decoder.append(streamHeader + record.prefix(20))
    XCTAssertNil(try decoder.next())
    XCTAssertEqual(decoder.pendingByteCount, 20)
  }
}
