@testable import AgentStream
import CPUProfiling
import Dispatch
import HeapProfiling
import Pprof
import Symbolization
import Synchronization
import XCTest

@testable import Recording

/// The recorded streams symbolized while they are decoded (`EarlySymbolizer`) and
/// after (`CachingSymbolizer`): the same frames either way, and early work that is
/// the final pass's, not more.
final class EarlySymbolizationTests: XCTestCase {
  func testCPUProfileIsTheSameSymbolizedEarly() throws {
    try assertSameProfiles("cpu.stream", CPUSampleCollector()) {
      CPUProfile.build(from: $0, hz: 1000, durationNanos: 1, symbolizer: $1, comments: []).profile
    }
  }

  func testHeapProfileIsTheSameSymbolizedEarly() throws {
    try assertSameProfiles("heap.stream", HeapCollector()) {
      HeapProfile.build(from: $0, durationNanos: 1, symbolizer: $1).profile
    }
  }

  func testTraceSamplesAreTheSameSymbolizedEarly() throws {
    try assertSameProfiles("trace.stream", CPUSampleCollector()) {
      CPUProfile.build(from: $0, hz: 1000, durationNanos: 1, symbolizer: $1, comments: []).profile
    }
  }

  /// Decodes `stream` three ways: symbolized after the recording; early, the queue
  /// drained after every record (so nothing waits); early, as the session runs it
  /// (addresses met while the queue works may be left to the final pass).
  private func assertSameProfiles<Sink: RecordSink>(_ stream: String, _ empty: Sink, build: (Sink, Symbolizer) -> Profile,
                                                    file: StaticString = #filePath, line: UInt = #line) throws {
    let bytes = try StreamFixtures.bytes(stream)
    var sink = empty
    StreamFixtures.session(replaying: bytes).record(into: &sink)
    let afterExit = build(sink, CachingSymbolizer(FakeSymbolizer()))

    let drainedBase = CountingSymbolizer()
    let drained = EarlySymbolizer(drainedBase)
    sink = empty
    StreamFixtures.session(replaying: bytes).record(into: &sink) {
      drained.observe($0)
      drained.waitForQueue()
    }
    let answeredEarly = drainedBase.asked
    XCTAssertGreaterThan(answeredEarly, 0, "addresses resolved while decoding", file: file, line: line)
    XCTAssertEqual(build(sink, drained).text, afterExit.text, file: file, line: line)
    XCTAssertEqual(drainedBase.asked, answeredEarly, "the final pass found every address answered", file: file, line: line)
    XCTAssertEqual(drainedBase.askedTwice, 0, "no address is asked about twice", file: file, line: line)

    let running = EarlySymbolizer(FakeSymbolizer())
    sink = empty
    StreamFixtures.session(replaying: bytes).record(into: &sink, observe: running.observe)
    running.stop()
    XCTAssertEqual(build(sink, running).text, afterExit.text, file: file, line: line)
  }

  /// Addresses met while the queue works wait for the next flush that finds it
  /// idle, and go in one call per file.
  func testAddressesMetWhileTheQueueWorksGoWithALaterFlush() throws {
    let gate = DispatchSemaphore(value: 0)
    let base = CountingSymbolizer(gate: gate)
    let early = EarlySymbolizer(base)
    early.observe(.module(LoadedModule(start: 0x1000, limit: 0x100000, fileOffset: 0, loadBias: 0x1000, buildID: [], path: "/x/prog")))
    func flush(_ stack: [UInt64]) {
      early.observe(.sample(RawSample(tid: 1, weight: 1, monotonicNanos: 0, threadCPUNanos: 0, frames: stack, truncated: false)))
      early.observe(.stats(AgentStats()))
    }
    flush([0x2000])  // taken: the queue waits on the gate
    flush([0x3000])
    flush([0x4000])
    gate.signal()
    early.waitForQueue()
    XCTAssertEqual(base.calls, 1)
    flush([0x5000])  // the queue is idle: takes what gathered
    gate.signal()
    early.waitForQueue()
    XCTAssertEqual(base.calls, 2)
    XCTAssertEqual(base.asked, 4)
    early.stop()
    let addresses: [UInt64] = [0x1000, 0x2000, 0x3000, 0x4000]
    XCTAssertEqual(try early.symbolize(addresses: addresses, inFile: "/x/prog"),
                   try FakeSymbolizer().symbolize(addresses: addresses, inFile: "/x/prog"))
    XCTAssertEqual(base.calls, 2, "the final pass found them answered")
  }
}

/// FakeSymbolizer's answers, counting what it was asked; `gate` makes each call wait for a signal.
private final class CountingSymbolizer: Symbolizer, @unchecked Sendable {
  private let log = Mutex<(calls: Int, asked: [String: [UInt64: Int]])>((0, [:]))
  private let gate: DispatchSemaphore?

  init(gate: DispatchSemaphore? = nil) { self.gate = gate }

  var calls: Int { log.withLock { $0.calls } }
  var asked: Int { log.withLock { $0.asked.values.reduce(0) { $0 + $1.count } } }
  var askedTwice: Int { log.withLock { $0.asked.values.reduce(0) { $0 + $1.values.filter { $0 > 1 }.count } } }

  func symbolize(addresses: [UInt64], inFile path: String) throws -> [[SourceFrame]] {
    gate?.wait()
    log.withLock { log in
      log.calls += 1
      for address in addresses { log.asked[path, default: [:]][address, default: 0] += 1 }
    }
    return try FakeSymbolizer().symbolize(addresses: addresses, inFile: path)
  }
}
