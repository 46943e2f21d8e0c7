import Foundation
import ProfStreamFormat
import XCTest

@testable import AgentStream

/// The written contract (Sources/Agent/STREAM.md) against the header and the agent's
/// sources, and the decoder's rules for streams from other versions or cut short.
final class StreamContractTests: XCTestCase {
  static let agentDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Sources/Agent")

  private func text(_ path: String) throws -> String {
    try String(contentsOf: Self.agentDirectory.appendingPathComponent(path), encoding: .utf8)
  }

  private func matches(_ pattern: String, in text: String) throws -> [[String]] {
    let expression = try NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines])
    return expression.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { match in
      (1..<match.numberOfRanges).map { String(text[Range(match.range(at: $0), in: text)!]) }
    }
  }

  /// type number -> name, from rows such as "| 7 | IDLE | ..." of every record table.
  private func documentedRecords() throws -> [Int: String] {
    var records: [Int: String] = [:]
    for row in try matches(#"^\| (\d+) \| ([A-Z_]+) \|"#, in: try text("STREAM.md")) {
      let type = Int(row[0])!
      XCTAssertNil(records[type], "type \(type) documented twice")
      records[type] = row[1]
    }
    return records
  }

  func testRecordTablesListExactlyTheRecordsOfTheHeader() throws {
    let header = try text("format/include/prof_stream.h")
    var declared: [Int: String] = [:]
    for row in try matches(#"^\s*PROF_REC_([A-Z_]+) = (\d+),"#, in: header) { declared[Int(row[1])!] = row[0] }
    XCTAssertGreaterThanOrEqual(declared.count, 13, "the enum was parsed")
    let documented = try documentedRecords()
    for (type, name) in declared.sorted(by: { $0.key < $1.key }) {
      XCTAssertEqual(documented[type], name, "prof_stream.h's \(type) \(name) in STREAM.md")
    }
    for (type, name) in documented.sorted(by: { $0.key < $1.key }) where declared[type] == nil {
      XCTFail("STREAM.md documents \(type) \(name), which prof_stream.h does not declare")
    }
  }

  func testDocumentNamesTheHeadersVersion() throws {
    let document = try text("STREAM.md")
    XCTAssertTrue(document.hasPrefix("# The agent contract, version \(PROF_STREAM_VERSION)\n"))
    XCTAssertTrue(document.contains("(`PROF_STREAM_VERSION` = \(PROF_STREAM_VERSION))"))
  }

  /// Every PROF_* variable the agent's sources name, and only those, has a row.
  func testEnvironmentTableListsExactlyTheVariablesTheAgentReads() throws {
    // The agent's sources and prof_env.h, where the names are defined.
    var read = Set<String>()
    let files = FileManager.default.enumerator(at: Self.agentDirectory, includingPropertiesForKeys: nil)!
    for case let file as URL in files where ["c", "h"].contains(file.pathExtension) {
      let source = try String(contentsOf: file, encoding: .utf8)
      for row in try matches(#""(PROF_[A-Z_]+)[="]"#, in: source) { read.insert(row[0]) }
    }
    XCTAssertTrue(read.contains("PROF_AGENT_FD"), "the sources were read: \(read)")
    let documented = Set(try matches(#"^\| `(PROF_[A-Z_]+)` \|"#, in: try text("STREAM.md")).map { $0[0] })
    XCTAssertEqual(documented.subtracting(read).sorted(), [], "documented, but the agent does not read them")
    XCTAssertEqual(read.subtracting(documented).sorted(), [], "read by the agent, but not documented")
  }

  // MARK: the decoder's rules

  private func record(type: UInt32, payload: [UInt64]) -> [UInt8] {
    bytes(of: prof_record_header(type: type, size: UInt32(8 + 8 * payload.count)))
      + payload.flatMap { bytes(of: $0) }
  }

  private func thread(_ tid: UInt32, _ name: String) -> [UInt8] {
    var thread = prof_thread_record()
    thread.header = prof_record_header(type: UInt32(PROF_REC_THREAD.rawValue), size: UInt32(MemoryLayout<prof_thread_record>.size))
    thread.tid = tid
    withUnsafeMutableBytes(of: &thread.name) { $0.copyBytes(from: Array(name.utf8)) }
    return bytes(of: thread)
  }

  private func notice(code: UInt32) -> [UInt8] {
    var notice = prof_notice_record()
    notice.header = prof_record_header(type: UInt32(PROF_REC_NOTICE.rawValue), size: UInt32(MemoryLayout<prof_notice_record>.size))
    notice.code = code
    return bytes(of: notice)
  }

  func testRecordsOfUnknownTypeAreSkippedByTheirSizeAndCounted() throws {
    let stream = streamHeader + thread(1, "main") + record(type: 42, payload: [7, 8, 9])
      + record(type: 42, payload: []) + notice(code: 99) + record(type: 1000, payload: [1]) + thread(2, "worker")
    for chunk in [1, 5, 4096] {
      let (records, decoder) = try decodeInChunks(stream, chunk: chunk)
      XCTAssertEqual(records, [.thread(tid: 1, name: "main"), .thread(tid: 2, name: "worker")], "chunk \(chunk)")
      XCTAssertEqual(decoder.skipped, ["type 42": 2, "type 1000": 1, "notice code 99": 1])
      XCTAssertEqual(decoder.pendingByteCount, 0)
      XCTAssertEqual(decoder.skippedSummary,
                     "skipped agent records this prof does not know (1 of notice code 99, 1 of type 1000, 2 of type 42): "
                       + "the agent is newer than prof")
    }
    XCTAssertNil(try decodeInChunks(streamHeader + thread(1, "main"), chunk: 64).decoder.skippedSummary, "nothing skipped, nothing said")
  }

  func testUnknownRecordsStillNeedAValidSize() {
    var decoder = AgentStreamDecoder()
    decoder.append(streamHeader + bytes(of: prof_record_header(type: 42, size: 12)) + [0, 0, 0, 0])
    XCTAssertThrowsError(try decoder.next()) {
      XCTAssertEqual($0 as? AgentStreamDecoder.Failure, .corruptRecord(offset: 16, detail: "size 12"))
    }
  }

  func testAKnownRecordShorterThanItsFixedPartIsRejected() {
    for type in [PROF_REC_SAMPLE, PROF_REC_MODULE, PROF_REC_TRACE, PROF_REC_HEAP_BUCKET, PROF_REC_HEAP_COUNTS, PROF_REC_NOTICE,
                 PROF_REC_CONTENTION_BUCKET, PROF_REC_CONTENTION_COUNTS, PROF_REC_CONTENTION_STATS, PROF_REC_LOCK_WAIT] {
      var decoder = AgentStreamDecoder()
      decoder.append(streamHeader + record(type: UInt32(type.rawValue), payload: []))
      XCTAssertThrowsError(try decoder.next(), "type \(type.rawValue)")
    }
  }

  func testVersionOneIsRejectedAndLaterVersionsAreRead() throws {
    var old = AgentStreamDecoder()
    old.append(bytes(of: PROF_STREAM_MAGIC) + bytes(of: UInt64(1)) + thread(1, "main"))
    XCTAssertThrowsError(try old.next()) { error in
      XCTAssertEqual(error as? AgentStreamDecoder.Failure, .unsupportedVersion(1))
      XCTAssertTrue("\(error)".contains("stale"), "\(error)")
    }
    let newer = bytes(of: PROF_STREAM_MAGIC) + bytes(of: UInt64(PROF_STREAM_VERSION) + 1)
      + thread(1, "main") + record(type: 77, payload: [1, 2])
    let (records, decoder) = try decodeInChunks(newer, chunk: 3)
    XCTAssertEqual(records, [.thread(tid: 1, name: "main")])
    XCTAssertEqual(decoder.skipped, ["type 77": 1])
  }

  /// A target killed mid-write: cut anywhere, the stream gives every whole record before the cut.
  func testAStreamCutAnywhereKeepsItsWholeRecords() throws {
    let pieces = [thread(1, "main"), record(type: 42, payload: [5]), thread(2, "worker"), notice(code: 99), thread(3, "io")]
    let stream = streamHeader + pieces.joined()
    let whole: [(end: Int, records: [AgentRecord])] = [
      (16 + pieces[0].count, [.thread(tid: 1, name: "main")]),
      (16 + pieces[0...2].joined().count, [.thread(tid: 1, name: "main"), .thread(tid: 2, name: "worker")]),
      (stream.count, [.thread(tid: 1, name: "main"), .thread(tid: 2, name: "worker"), .thread(tid: 3, name: "io")]),
    ]
    for cut in 0...stream.count {
      let (records, decoder) = try decodeInChunks(Array(stream.prefix(cut)), chunk: 7)
      let expected = whole.last { $0.end <= cut }?.records ?? []
      XCTAssertEqual(records, expected, "cut at \(cut)")
      let consumedRecords = [16, 16 + pieces[0].count, 16 + pieces[0...1].joined().count, 16 + pieces[0...2].joined().count,
                             16 + pieces[0...3].joined().count, stream.count].last { $0 <= cut } ?? 0
      XCTAssertEqual(decoder.pendingByteCount, cut - consumedRecords, "cut at \(cut): the partial record waits")
    }
  }
}
