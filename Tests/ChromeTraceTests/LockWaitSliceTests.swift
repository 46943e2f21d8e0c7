import Foundation
import XCTest

@testable import AgentStream
@testable import ChromeTrace

/// "waiting for lock" slices from hand-made streams: where they go and what they say.
final class LockWaitSliceTests: XCTestCase {
  private let start: UInt64 = 1_000_000_000
  private let milliseconds: UInt64 = 1_000_000

  func testEachWaitIsASliceOnItsThreadsSpansTrackWithItsLockAndHolder() throws {
    var timeline = TimelineCollector()
    let records: [AgentRecord] = [
      .start(StreamStart(pid: 42, hz: 100, realtimeNanos: 0, monotonicNanos: start)),
      .thread(tid: 7, name: "holder"),
      .thread(tid: 8, name: "waiter"),
      .trace(TraceEvent(tid: 8, kind: .begin, monotonicNanos: start + 5 * milliseconds, value: 0, id: 0, name: "request")),
      .lockWait(LockWait(tid: 8, holderTID: 7, lockAddress: 0xabc0, startNanos: start + 10 * milliseconds,
                         endNanos: start + 60 * milliseconds)),
      .trace(TraceEvent(tid: 8, kind: .end, monotonicNanos: start + 70 * milliseconds, value: 0, id: 0, name: "")),
      // A read-locked rwlock: no holder.
      .lockWait(LockWait(tid: 9, holderTID: 0, lockAddress: 0xdef0, startNanos: start + 20 * milliseconds,
                         endNanos: start + 22 * milliseconds)),
    ]
    records.forEach { timeline.consume($0) }
    let process = ChromeTraceBuilder.Process(timeline: timeline, frames: [], name: "test", endMonotonicNanos: start + 100 * milliseconds)
    let json = ChromeTraceBuilder(processes: [process], options: .init(mode: .cpu, hz: 100)).build().json
    let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
    let events = try XCTUnwrap(root["traceEvents"] as? [[String: Any]])
    let waits = events.filter { $0["name"] as? String == "waiting for lock" }
    XCTAssertEqual(waits.count, 2)
    let spans = ChromeTraceBuilder.spansTrackOffset
    let held = try XCTUnwrap(waits.first { $0["tid"] as? Int == 8 + spans }, "\(waits)")
    XCTAssertEqual(held["ph"] as? String, "X")
    XCTAssertEqual(held["cat"] as? String, "lock")
    XCTAssertEqual(held["ts"] as? Double, 10_000)
    XCTAssertEqual(held["dur"] as? Double, 50_000)
    let arguments = try XCTUnwrap(held["args"] as? [String: Any])
    XCTAssertEqual(arguments["lock"] as? String, "0xabc0")
    XCTAssertEqual(arguments["holder tid"] as? Int, 7)
    XCTAssertEqual(arguments["holder"] as? String, "holder")
    // Inside the span it happened in: B at 5 ms, the wait, E at 70 ms on one track.
    let track = events.filter { $0["tid"] as? Int == 8 + spans && $0["ph"] as? String != "M" }.map { $0["ph"] as! String }
    XCTAssertEqual(track, ["B", "X", "E"])
    let unheld = try XCTUnwrap(waits.first { $0["tid"] as? Int == 9 + spans }, "\(waits)")
    XCTAssertEqual((unheld["args"] as? [String: Any])?.keys.sorted(), ["lock"])
    let names = events.filter { $0["name"] as? String == "thread_name" }.compactMap { ($0["args"] as? [String: Any])?["name"] as? String }
    XCTAssertTrue(names.contains("thread 9 spans"), "a thread known only by its wait has its tracks: \(names)")
  }
}
