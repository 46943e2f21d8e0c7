import AgentStream
import CPUProfiling
import ChromeTrace
import Dispatch
import Foundation
import HeapProfiling
import ProfTestSupport
import XCTest

@testable import Recording

/// The session on recorded streams: what reaches the sinks, however the pipe splits it.
final class RecordingSessionTests: XCTestCase {
  /// Counts records by kind: a sink that shows exactly what the session fed.
  struct RecordCounter: RecordSink {
    var count = 0
    var samples = 0
    mutating func consume(_ record: AgentRecord) {
      count += 1
      if case .sample = record { samples += 1 }
    }
  }

  func testEveryRecordReachesTheSinkWhateverTheChunkSize() throws {
    let bytes = try StreamFixtures.bytes("cpu.stream")
    let records = try StreamFixtures.records("cpu.stream")
    for chunk in [1, 7, 97, 65536] {
      let session = StreamFixtures.session(replaying: bytes, chunk: chunk)
      var counter = RecordCounter()
      session.record(into: &counter)
      XCTAssertEqual(counter.count, records.count, "chunk \(chunk)")
      XCTAssertEqual(session.endReason, .exit)
      XCTAssertEqual(session.ending, .agentFinished)
      XCTAssertNotNil(session.start)
      XCTAssertFalse(session.stoppedEarly)
    }
  }

  func testTheCollectorCountsWhatTheAgentSaysItSent() throws {
    let session = StreamFixtures.session(replaying: try StreamFixtures.bytes("cpu.stream"))
    var collector = CPUSampleCollector()
    session.record(into: &collector)
    XCTAssertGreaterThan(collector.totals.samples, 10)
    XCTAssertEqual(collector.totals.samples, collector.stats.samples, "the agent's STATS and the samples agree")
    XCTAssertEqual(session.finish(), .exited(0))
  }

  func testAPairOfSinksSeesWhatEachSeesAlone() throws {
    let bytes = try StreamFixtures.bytes("trace.stream")
    var pair = SinkPair(TimelineCollector(), CPUSampleCollector())
    StreamFixtures.session(replaying: bytes).record(into: &pair)
    var timeline = TimelineCollector()
    var samples = CPUSampleCollector()
    StreamFixtures.session(replaying: bytes).record(into: &timeline)
    StreamFixtures.session(replaying: bytes).record(into: &samples)
    XCTAssertEqual(pair.first.ticks, timeline.ticks)
    XCTAssertEqual(pair.first.stacks, timeline.stacks)
    XCTAssertEqual(pair.second.totals, samples.totals)
    XCTAssertFalse(timeline.ticks.isEmpty)
  }

  func testAStreamCutShortKeepsTheRecordsBeforeTheCut() throws {
    let bytes = try StreamFixtures.bytes("cpu.stream")
    let session = StreamFixtures.session(replaying: Array(bytes.prefix(bytes.count / 2)))
    var counter = RecordCounter()
    session.record(into: &counter)
    XCTAssertNotNil(session.start)
    XCTAssertNil(session.endReason, "the END record was cut off")
    XCTAssertEqual(session.ending, .programExited(.exited(0)))
    XCTAssertGreaterThan(counter.count, 0)
    XCTAssertLessThan(counter.count, try StreamFixtures.records("cpu.stream").count)
  }

  func testGarbageAfterTheHeaderStopsDecodingWithoutATrap() throws {
    let bytes = try StreamFixtures.bytes("cpu.stream")
    let session = StreamFixtures.session(replaying: Array(bytes.prefix(200)) + [UInt8](repeating: 0xff, count: 300))
    var counter = RecordCounter()
    session.record(into: &counter)
    XCTAssertNotNil(session.start)
    XCTAssertNil(session.endReason)
  }

  func testCheckpointsWriteCopiesOfTheSinkWhileRecording() throws {
    let directory = try ProfHarness.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("samples").path
    // Due at every flush: the interval is 0, so only a running write skips one.
    let checkpoints = Checkpoints<CPUSampleCollector>(every: 0, what: "checkpoint", queue: DispatchQueue(label: "test"),
                                                      path: { "\(path).\($0)" }) { collector, _ in
      Array("\(collector.totals.samples)".utf8)
    }
    var collector = CPUSampleCollector()
    StreamFixtures.session(replaying: try StreamFixtures.bytes("cpu.stream")).record(into: &collector, checkpoints: [checkpoints])
    XCTAssertGreaterThan(checkpoints.written, 0)
    let first = try String(contentsOfFile: "\(path).1", encoding: .utf8)
    XCTAssertLessThanOrEqual(UInt64(first)!, collector.totals.samples, "a checkpoint is the state at a flush")
  }

  func testFollowedChildrenAreDecodedIntoSinksOfTheirOwn() throws {
    let (session, _) = try StreamFixtures.followedHeap()
    let recorded = try session.children(HeapCollector.init)
    let children = StreamFixtures.directory.appendingPathComponent("children").path
    let names = try FileManager.default.contentsOfDirectory(atPath: children).map { String($0.dropLast(".stream".count)) }
    XCTAssertEqual(recorded.map(\.name), names.sorted())
    // follow.c forks a child that leaks 30 blocks, and one that execs itself to leak 40:
    // pid.stream ends at the exec (no END: the image was replaced), pid.1.stream goes on.
    XCTAssertEqual(recorded.count, 3)
    guard recorded.count == 3 else { return }
    let (forked, execing, execed) = (recorded[0], recorded[1], recorded[2])
    XCTAssertEqual(execed.name, execing.name + ".1")
    XCTAssertNil(execing.sink.endReason)
    for (child, leaked) in [(forked, 30 as UInt64), (execed, 40)] {
      XCTAssertNotNil(child.start, child.name)
      XCTAssertEqual(child.sink.endReason, .exit, child.name)
      XCTAssertGreaterThanOrEqual(child.sink.stats.allocations, leaked, child.name)
      XCTAssertGreaterThan(child.durationNanos, 0, child.name)
    }
    XCTAssertTrue(FileManager.default.fileExists(atPath: children), "a session never removes streams it did not create")
  }
}
