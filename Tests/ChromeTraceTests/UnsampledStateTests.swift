import Foundation
import XCTest

@testable import AgentStream
@testable import ChromeTrace

/// Wall-mode state tracks of threads that block the sampling signal, from hand-made streams.
final class UnsampledStateTests: XCTestCase {
  private let start: UInt64 = 1_000_000_000
  private let milliseconds: UInt64 = 1_000_000

  private func idle(_ tid: UInt32, at time: UInt64, cpu: UInt64) -> AgentRecord {
    .idle(IdleTick(tid: tid, monotonicNanos: start + time * milliseconds, threadCPUNanos: cpu))
  }

  private func blocked(_ tid: UInt32, _ name: String, cpu: UInt64) -> AgentRecord {
    .notice(.signalBlocked(SignalBlockingThread(tid: tid, name: name, signal: .profiling, cpuNanos: cpu)))
  }

  /// (name, start ms, duration ms, cpu %) of each state slice, by the thread's tid, and the trace's metadata.
  private func states(_ records: [AgentRecord], mode: ChromeTraceBuilder.Mode = .wall) throws
    -> (slices: [Int: [[String]]], metadata: [String: String]) {
    var timeline = TimelineCollector()
    records.forEach { timeline.consume($0) }
    let process = ChromeTraceBuilder.Process(timeline: timeline, frames: [[TraceFrame(name: "work")]], name: "test",
                                             endMonotonicNanos: start + 200 * milliseconds)
    let json = ChromeTraceBuilder(processes: [process], options: .init(mode: mode, hz: 100)).build().json
    let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
    var slices: [Int: [[String]]] = [:]
    for case let event as [String: Any] in root["traceEvents"] as! [Any] where event["cat"] as? String == "state" {
      let tid = (event["tid"] as! Int) - Int(ChromeTraceBuilder.stateTrackOffset)
      let args = event["args"] as! [String: Any]
      slices[tid, default: []].append([event["name"] as! String, "\(event["ts"] as! Double / 1000)",
                                       "\(event["dur"] as! Double / 1000)", "\(args["cpu %"]!)"])
    }
    return (slices.mapValues { $0.sorted { Double($0[1])! < Double($1[1])! } }, root["metadata"] as! [String: String])
  }

  func testABlockingThreadRanUnsampledBetweenItsIdleTicksAndAroundThem() throws {
    let (slices, metadata) = try states([
      .start(StreamStart(pid: 42, hz: 100, realtimeNanos: 0, monotonicNanos: start)),
      idle(8, at: 10, cpu: 5 * milliseconds),   // ran 5 ms before it was first seen
      idle(8, at: 110, cpu: 85 * milliseconds),  // ran 80 ms, unseen: its ticks left no record
      idle(8, at: 120, cpu: 85 * milliseconds + 10_000),
      blocked(8, "blocker", cpu: 100 * milliseconds),  // 14.99 ms more after its last tick
      blocked(9, "hidden", cpu: 40 * milliseconds),  // never seen at all
      // A thread that does not block the signal keeps Running and Off-CPU.
      idle(10, at: 10, cpu: 0), idle(10, at: 110, cpu: 80 * milliseconds),
    ])
    XCTAssertEqual(slices[8], [
      ["Unsampled", "5.0", "5.0", "100.0"], ["Unsampled", "10.0", "100.0", "80.0"], ["Off-CPU", "110.0", "10.0", "0.1"],
      ["Unsampled", "120.0", "14.99", "100.0"],
    ])
    XCTAssertEqual(slices[9], [["Unsampled", "0.0", "200.0", "20.0"]])
    XCTAssertEqual(slices[10], [["Running", "10.0", "100.0", "80.0"]])
    XCTAssertEqual(metadata["prof-unsampled"], """
      blocker (pid 42, tid 8) blocks SIGPROF: 0.10 s of CPU time unsampled; \
      hidden (pid 42, tid 9) blocks SIGPROF: 0.04 s of CPU time unsampled
      """)
  }

  /// CPU mode has no idle ticks: a blocking thread gets a state track of its own, its
  /// CPU time past its samples Unsampled over the run; other threads get none.
  func testInCPUModeABlockingThreadsUnsampledTimeHasATrack() throws {
    let sample = { (tid: UInt32, time: UInt64) in
      AgentRecord.sample(RawSample(tid: tid, weight: 1, monotonicNanos: self.start + time * self.milliseconds,
                                   threadCPUNanos: 0, frames: [0x10], truncated: false))
    }
    let (slices, metadata) = try states([
      .start(StreamStart(pid: 42, hz: 100, realtimeNanos: 0, monotonicNanos: start)),
      sample(8, 10), sample(8, 20),  // two samples of 10 ms before it blocked the signal
      blocked(8, "partly", cpu: 60 * milliseconds),
      blocked(9, "hidden", cpu: 40 * milliseconds),
      sample(10, 10),
    ], mode: .cpu)
    XCTAssertEqual(slices[8], [["Unsampled", "0.0", "200.0", "20.0"]])
    XCTAssertEqual(slices[9], [["Unsampled", "0.0", "200.0", "20.0"]])
    XCTAssertNil(slices[10])
    XCTAssertNotNil(metadata["prof-unsampled"])
  }

  func testWithoutBlockingThreadsTheTraceSaysNothingOfThem() throws {
    let (slices, metadata) = try states([
      .start(StreamStart(pid: 42, hz: 100, realtimeNanos: 0, monotonicNanos: start)),
      idle(10, at: 10, cpu: 0), idle(10, at: 110, cpu: 10_000),
    ])
    XCTAssertEqual(slices[10], [["Off-CPU", "10.0", "100.0", "0.0"]])
    XCTAssertNil(metadata["prof-unsampled"])
  }
}
