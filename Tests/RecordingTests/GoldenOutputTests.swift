import CPUProfiling
import ChromeTrace
import Foundation
import HeapProfiling
import Pprof
import ProfTestSupport
import Recording
import XCTest

/// The cpu, heap and trace outputs built from the recorded streams, with a fake
/// symbolizer, compared with golden text dumps: any change in what the session,
/// the collectors or the builders produce shows as a diff.
/// PROF_UPDATE_GOLDENS=1 swift test --filter RecordingTests rewrites them.
final class GoldenOutputTests: XCTestCase {
  static let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("golden")
  /// A fixed duration: the real one is the wall time of collection, which a replay does not have.
  static let durationNanos: Int64 = 1_000_000_000

  func assertGolden(_ actual: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
    if let mismatch = try Goldens.mismatch(actual, golden: Self.goldens.appendingPathComponent(name)) {
      XCTFail(mismatch, file: file, line: line)
    }
  }

  func testCPUProfile() throws {
    var collector = CPUSampleCollector()
    StreamFixtures.session(replaying: try StreamFixtures.bytes("cpu.stream")).record(into: &collector)
    let (profile, warnings) = CPUProfile.build(from: collector, hz: 1000, durationNanos: Self.durationNanos,
                                               symbolizer: FakeSymbolizer(), comments: ["prof cpu split 20"])
    XCTAssertEqual(warnings, [])
    XCTAssertTrue(profile.text.contains("split+0x"), "the program's own frames are in it")
    try assertGolden(profile.text, "cpu.txt")
    XCTAssertEqual(try Profile(fileBytes: profile.gzipped()).text, profile.text, "the rendering survives encoding")
  }

  func testAChangedProfileDiffersFromItsGolden() throws {
    try XCTSkipIf(Goldens.updating)
    var collector = CPUSampleCollector()
    StreamFixtures.session(replaying: try StreamFixtures.bytes("cpu.stream")).record(into: &collector)
    var profile = CPUProfile.build(from: collector, hz: 1000, durationNanos: Self.durationNanos,
                                   symbolizer: FakeSymbolizer(), comments: ["prof cpu split 20"]).profile
    profile.samples[0].values[0] += 1
    let mismatch = try Goldens.mismatch(profile.text, golden: Self.goldens.appendingPathComponent("cpu.txt"))
    XCTAssertTrue(mismatch?.contains("at line 10") == true, mismatch ?? "no mismatch")
  }

  func testHeapProfilesOfTheProgramAndItsChildren() throws {
    let (session, collector) = try StreamFixtures.followedHeap()
    func build(_ collector: HeapCollector) -> Profile {
      HeapProfile.build(from: collector, durationNanos: Self.durationNanos, symbolizer: FakeSymbolizer()).profile
    }
    try assertGolden(build(collector).text, "heap.txt")
    for (number, child) in try session.children(HeapCollector.init).enumerated() {
      // By position, not pid: a re-recording gets other pids.
      try assertGolden(build(child.sink).text, "heap.child\(number + 1).txt")
    }
  }

  func testChromeTrace() throws {
    var sinks = SinkPair(TimelineCollector(), CPUSampleCollector())
    let session = StreamFixtures.session(replaying: try StreamFixtures.bytes("trace.stream"))
    session.record(into: &sinks)
    let (frames, warnings) = SymbolizedStacks.resolve(sinks.first.stacks, modules: sinks.second.modules,
                                                      symbolizer: FakeSymbolizer())
    XCTAssertEqual(warnings, [])
    let end = (session.start?.monotonicNanos ?? 0) + UInt64(Self.durationNanos)
    let process = ChromeTraceBuilder.Process(timeline: sinks.first, frames: frames, name: "split 20", endMonotonicNanos: end)
    let (json, notes) = ChromeTraceBuilder(processes: [process], options: .init(mode: .wall, hz: 500)).build()
    XCTAssertEqual(notes, [])
    try assertGolden(String(decoding: json, as: UTF8.self), "trace.json")
  }
}
