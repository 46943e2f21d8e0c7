import AgentStream
import Pprof
import ProfileBuilder
import Symbolization

/// What the samples measure: CPU time (each thread's CPU clock) or wall time.
public enum SamplingClock: String, Sendable {
  case cpu
  case wall
}

/// Shapes a CPU profile exactly as Go's runtime/pprof does: sample types
/// samples/count and cpu/nanoseconds, period cpu/nanoseconds, thread labels.
/// Wall-clock profiles use wall/nanoseconds in the same places.
public enum CPUProfile {
  public static let droppedFrame = "[dropped samples]"
  public static let truncatedFrame = StackProfileBuilder.truncatedFrame

  public static func build(
    from collector: CPUSampleCollector,
    hz: Int,
    clock: SamplingClock = .cpu,
    durationNanos: Int64,
    symbolizer: Symbolizer?,
    comments: [String] = []
  ) -> (profile: Profile, warnings: [String]) {
    let period = Int64(1_000_000_000 / hz)
    var profile = Profile()
    profile.sampleTypes = [ValueType(type: "samples", unit: "count"), ValueType(type: clock.rawValue, unit: "nanoseconds")]
    profile.periodType = ValueType(type: clock.rawValue, unit: "nanoseconds")
    profile.period = period
    profile.timeNanos = Int64(collector.start?.realtimeNanos ?? 0)
    profile.durationNanos = durationNanos
    profile.comments = comments + [agentCost(collector.stats), accounting(collector.stats)]
      + [collector.blockedThreadsSummary(hz: hz)].compactMap { $0 }

    var builder = StackProfileBuilder(modules: collector.modules, hiddenModule: StackProfileBuilder.isAgent)
    // Sorted so that the same run always gives the same file.
    for (key, totals) in collector.stacks.sorted(by: stackOrder) {
      builder.add(stack: key.frames, values: [Int64(totals.samples), Int64(totals.periods) * period],
                  labels: threadLabels(key.tid, name: collector.threadNames[key.tid]),
                  syntheticRoot: key.truncated ? truncatedFrame : nil, asyncChains: key.asyncChains)
    }
    if collector.stats.dropped > 0 {
      let count = Int64(collector.stats.dropped)
      builder.addSynthetic(frame: droppedFrame, values: [count, count * period])
    }
    // Losses are visible in every view, as Go charges lost samples to a frame of their own.
    // Wall-clock mode adds the ticks at which it waited, unseen: its wall time then.
    for thread in collector.blockingThreads.values.sorted(by: { $0.tid < $1.tid }) {
      let idleTicks = collector.idleTicksWithoutStack[thread.tid] ?? 0
      let (idle, overflow) = idleTicks.multipliedReportingOverflow(by: UInt64(period))
      let unsampled = collector.unsampledNanos(thread, hz: hz).addingReportingOverflow(overflow ? UInt64.max : idle)
      let nanos = unsampled.overflow ? UInt64.max : unsampled.partialValue
      guard nanos > 0 else { continue }
      builder.addSynthetic(frame: notSampledFrame(thread.signal),
                           values: [Int64(clamping: collector.missedSamples(thread, hz: hz) &+ idleTicks), Int64(clamping: nanos)],
                           labels: threadLabels(thread.tid, name: collector.threadNames[thread.tid] ?? thread.name))
    }
    let warnings = builder.build(into: &profile, symbolizer: symbolizer)
    return (profile, warnings)
  }

  /// The frame that carries the CPU time of a thread that blocks the sampling signal.
  public static func notSampledFrame(_ signal: SamplingSignal) -> String { "[not sampled: thread blocks \(signal.name)]" }

  /// The agent's own cost, measured in its handler: `go tool pprof -comments` shows it.
  static func agentCost(_ stats: AgentStats) -> String {
    let perSample = stats.samples > 0 ? stats.handlerNanos / stats.samples : 0
    let perFrame = stats.frames > 0 ? stats.handlerNanos / stats.frames : 0
    return "agent: \(stats.samples) samples, \(stats.frames) frames, \(perSample) ns/sample, \(perFrame) ns/frame"
  }

  /// Every signal the agent took became a sample or a drop: a test checks it.
  static func accounting(_ stats: AgentStats) -> String {
    "agent accounting: \(stats.taken) signals taken, \(stats.samples) samples written, \(stats.dropped) dropped"
  }

  private static func threadLabels(_ tid: UInt32, name: String?) -> [Label] {
    [Label(key: "thread_comm", value: .string(name ?? "")),
     Label(key: "tid", value: .number(Int64(tid), unit: ""))]
  }

  private static func stackOrder(
    _ a: (key: CPUSampleCollector.StackKey, value: CPUSampleCollector.Totals),
    _ b: (key: CPUSampleCollector.StackKey, value: CPUSampleCollector.Totals)
  ) -> Bool {
    if a.key.tid != b.key.tid { return a.key.tid < b.key.tid }
    if a.key.frames != b.key.frames { return a.key.frames.lexicographicallyPrecedes(b.key.frames) }
    if a.key.truncated != b.key.truncated { return !a.key.truncated }
    let callers = { (key: CPUSampleCollector.StackKey) in key.asyncChains.flatMap(\.resumeFunctions) }
    return callers(a.key).lexicographicallyPrecedes(callers(b.key))
  }
}
