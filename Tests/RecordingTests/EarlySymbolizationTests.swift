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
  /// drained after every record (so nothing is skipped); early, as the session runs
  /// it (batches may be skipped when the queue is full).
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

  /// A full queue skips batches: their addresses are the final pass's, and come out the same.
  func testBatchesSkippedWhenTheQueueIsFullAreResolvedAtTheEnd() throws {
    let gate = DispatchSemaphore(value: 0)
    let base = CountingSymbolizer(gate: gate)
    let early = EarlySymbolizer(base)
    let module = LoadedModule(start: 0x1000, limit: 0x100000, fileOffset: 0, loadBias: 0x1000, buildID: [], path: "/x/prog")
    early.observe(.module(module))
    let batches = EarlySymbolizer.queueLimit + 3
    for batch in 0..<batches {
      let stack = (0..<EarlySymbolizer.batchSize).map { UInt64(0x2000 + batch * EarlySymbolizer.batchSize + $0) }
      early.observe(.sample(RawSample(tid: 1, weight: 1, monotonicNanos: 0, threadCPUNanos: 0, frames: stack, truncated: false)))
    }
    early.stop()
    for _ in 0..<batches { gate.signal() }  // the first batch waited on the gate; the queue held the limit
    let leaf = UInt64(0x2000 + (batches - 1) * EarlySymbolizer.batchSize)
    XCTAssertEqual(try early.symbolize(addresses: [leaf - 0x1000], inFile: "/x/prog"),
                   try FakeSymbolizer().symbolize(addresses: [leaf - 0x1000], inFile: "/x/prog"))
    early.waitForQueue()
    XCTAssertLessThanOrEqual(base.calls, EarlySymbolizer.queueLimit + 1, "batches beyond the limit were skipped")
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
