import Glibc
import Pprof
import XCTest

@testable import AgentStream
@testable import CPUProfiling

/// Threads that block the sampling signal: their CPU time is charged to a frame of its own.
final class UnsampledThreadsTests: XCTestCase {
  private func collector(signal: SamplingSignal = .profiling) -> CPUSampleCollector {
    var collector = CPUSampleCollector()
    let records: [AgentRecord] = [
      .start(StreamStart(pid: 1, hz: 100, realtimeNanos: 0, monotonicNanos: 0)),
      .thread(tid: 7, name: "main"),
      // main blocked the signal for a while: 3 periods sampled of its 50 ms.
      .sample(RawSample(tid: 7, weight: 3, monotonicNanos: 1, threadCPUNanos: 0, frames: [0x1000], truncated: false)),
      .notice(.signalBlocked(SignalBlockingThread(tid: 7, name: "main", signal: signal, cpuNanos: 50_000_000))),
      .notice(.signalBlocked(SignalBlockingThread(tid: 8, name: "blocker", signal: signal, cpuNanos: 250_000_000))),
      // covered by its samples: nothing unsampled
      .sample(RawSample(tid: 9, weight: 2, monotonicNanos: 1, threadCPUNanos: 0, frames: [0x1000], truncated: false)),
      .notice(.signalBlocked(SignalBlockingThread(tid: 9, name: "brief", signal: signal, cpuNanos: 15_000_000))),
    ]
    records.forEach { collector.consume($0) }
    return collector
  }

  private func unsampledSamples(_ profile: Profile, frame: String) -> [(values: [Int64], labels: [Label])] {
    profile.samples.filter { sample in
      sample.locationIDs.count == 1 && profile.locations.first { $0.id == sample.locationIDs[0] }.map { location in
        location.lines.map { profile.functions[Int($0.functionID) - 1].name } == [frame]
      } == true
    }.map { ($0.values, $0.labels) }
  }

  func testEachBlockingThreadGetsAFrameWithItsUnsampledCPUTime() throws {
    let (profile, _) = CPUProfile.build(from: collector(), hz: 100, durationNanos: 1, symbolizer: nil)
    XCTAssertNoThrow(try profile.validate())
    let samples = unsampledSamples(profile, frame: "[not sampled: thread blocks SIGPROF]")
    XCTAssertEqual(samples.map(\.values), [[2, 20_000_000], [25, 250_000_000]], "by tid; the brief thread is covered")
    XCTAssertEqual(samples.map(\.labels), [
      [Label(key: "thread_comm", value: .string("main")), Label(key: "tid", value: .number(7, unit: ""))],
      [Label(key: "thread_comm", value: .string("blocker")), Label(key: "tid", value: .number(8, unit: ""))],
    ])
    XCTAssertEqual(profile.comments.last, """
      3 threads blocked SIGPROF, so 0.27 s of CPU time went unsampled (about 27 samples missed): \
      blocker (tid 8, 0.25 s CPU), main (tid 7, 0.05 s CPU), brief (tid 9, 0.02 s CPU)
      """)
  }

  /// Wall-clock mode: the ticks at which a never-sampled blocking thread waited are
  /// wall time too, with no stack to charge: its frame carries them with its CPU time.
  func testInWallModeTheFrameAlsoCarriesTheTicksTheThreadWaited() throws {
    var collector = collector()
    for time in 1...4 { collector.consume(.idle(IdleTick(tid: 8, monotonicNanos: UInt64(time), threadCPUNanos: 0))) }
    // main has a stack: its idle tick is charged there, one period of its 50 ms accounted for.
    collector.consume(.idle(IdleTick(tid: 7, monotonicNanos: 5, threadCPUNanos: 0)))
    let (profile, _) = CPUProfile.build(from: collector, hz: 100, durationNanos: 1, symbolizer: nil)
    let samples = unsampledSamples(profile, frame: "[not sampled: thread blocks SIGPROF]")
    XCTAssertEqual(samples.map(\.values), [[1, 10_000_000], [29, 290_000_000]], "blocker: 25 periods of CPU, 4 idle ticks")
  }

  func testTheFrameNamesTheSignalInUse() {
    let signal = SamplingSignal(number: __libc_current_sigrtmin() + 3)
    let (profile, _) = CPUProfile.build(from: collector(signal: signal), hz: 100, durationNanos: 1, symbolizer: nil)
    XCTAssertEqual(unsampledSamples(profile, frame: "[not sampled: thread blocks SIGRTMIN+3]").count, 2)
  }

  func testNoBlockingThreadsNoFrameNoComment() {
    var collector = CPUSampleCollector()
    collector.consume(.sample(RawSample(tid: 1, weight: 1, monotonicNanos: 1, threadCPUNanos: 0, frames: [1], truncated: false)))
    let (profile, _) = CPUProfile.build(from: collector, hz: 100, durationNanos: 1, symbolizer: nil)
    XCTAssertEqual(profile.samples.count, 1)
    XCTAssertFalse(profile.comments.contains { $0.contains("blocked") }, "\(profile.comments)")
  }
}
