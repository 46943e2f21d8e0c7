import Foundation
import AgentStream
import Pprof
import ProfileBuilder
import Symbolization

/// Contention mode's stream: the stacks of waits and releases, their counts, the
/// exact totals.
public enum ContentionMode: AggregatingMode {
  public static var noStats: ContentionStats { ContentionStats() }

  public static func part(of record: AgentRecord) -> AggregatedRecord<ContentionCounts, ContentionStats>? {
    switch record {
    case .contention(.bucket(let bucket)): .bucket(bucket)
    case .contention(.counts(let counts)): .counts(counts)
    case .contention(.stats(let stats)): .stats(stats)
    default: nil
    }
  }

  /// Waits, their time and those lost summed over the images; the settings, the
  /// current image's.
  public static func combine(earlier: ContentionStats, current: ContentionStats) -> ContentionStats {
    var stats = current
    if stats.blockRateNanos == 0 && stats.mutexFraction == 0 {  // the new image has sent none yet
      stats.blockRateNanos = earlier.blockRateNanos
      stats.mutexFraction = earlier.mutexFraction
    }
    stats.waits &+= earlier.waits
    stats.waitNanos &+= earlier.waitNanos
    stats.lost &+= earlier.lost
    return stats
  }
}

extension ContentionCounts: BucketCounts {
  /// Waits that happened stay counted after an exec.
  public func afterExec() -> ContentionCounts { self }
}

/// Accumulates a contention-mode stream (fed by a recording session).
public typealias ContentionCollector = StackCountsCollector<ContentionMode>

/// Go's block and mutex profiles (runtime/pprof's printCountCycleProfile): sample
/// types contentions/count and delay/nanoseconds, period type contentions/count,
/// period 1. Block charges a wait to the waiting stack; mutex to the releasing one.
public enum ContentionProfile {
  public enum Kind: String, Sendable {
    case block, mutex
  }

  public static let sampleTypes = [
    ValueType(type: "contentions", unit: "count"), ValueType(type: "delay", unit: "nanoseconds"),
  ]

  public static func build(
    _ kind: Kind,
    from collector: ContentionCollector,
    durationNanos: Int64,
    symbolizer: Symbolizer?,
    comments: [String] = []
  ) -> (profile: Profile, warnings: [String]) {
    var profile = Profile()
    profile.sampleTypes = sampleTypes
    profile.periodType = ValueType(type: "contentions", unit: "count")
    profile.period = 1
    profile.timeNanos = Int64(collector.start?.realtimeNanos ?? 0)
    profile.durationNanos = durationNanos
    profile.comments = comments
    var builder = StackProfileBuilder(modules: collector.modules, hiddenModule: StackProfileBuilder.isAgent)
    // By bucket id, so that the same run always gives the same file.
    for (id, counts) in collector.counts.sorted(by: { $0.key < $1.key }) {
      let values = Self.values(kind, counts)
      guard values[1] > 0 || values[0] > 0, let bucket = collector.buckets[id] else { continue }
      builder.add(stack: bucket.frames, values: values, labels: [],
                  syntheticRoot: bucket.truncated ? StackProfileBuilder.truncatedFrame : nil, asyncChains: bucket.asyncChains)
    }
    let warnings = builder.build(into: &profile, symbolizer: symbolizer)
    return (profile, warnings)
  }

  /// contentions (rounded to a whole count), delay.
  static func values(_ kind: Kind, _ counts: ContentionCounts) -> [Int64] {
    let (contentions, delay) = kind == .block
      ? (counts.blockContentions, counts.blockDelayNanos) : (counts.mutexContentions, counts.mutexDelayNanos)
    return [contentions >= 0 && contentions < 0x1p62 ? Int64(contentions.rounded()) : 0,
            delay < UInt64(Int64.max) ? Int64(delay) : 0]
  }

  /// What prof says after writing the profile: the exact totals beside the profile's.
  /// `running`: a snapshot of a program that runs on (--pid).
  public static func summary(_ kind: Kind, _ collector: ContentionCollector, _ profile: Profile, running: Bool = false) -> [String] {
    let stats = collector.stats
    let delay = profile.samples.reduce(Int64(0)) { $0 + $1.values[1] }
    let contentions = profile.samples.reduce(Int64(0)) { $0 + $1.values[0] }
    var lines = [totals(kind, waits: stats.waits, waitNanos: stats.waitNanos, contentions: contentions,
                        delayNanos: UInt64(max(delay, 0)), running: running)]
    if stats.lost > 0 { lines.append("\(stats.lost) waits left out: the agent's stack or lock table was full") }
    return lines
  }

  /// The exact totals beside the profile's. A waiter's time is in the exact total
  /// once its wait ends, but the mutex profile charges it to each release while it
  /// waits: in a running program the profile's is ahead by the waits in progress, and
  /// the line says so (after exit none is in progress and the two agree).
  static func totals(_ kind: Kind, waits: UInt64, waitNanos: UInt64, contentions: Int64, delayNanos: UInt64,
                     running: Bool) -> String {
    let inProgress = running && kind == .mutex && delayNanos != waitNanos
      ? " (it also holds, so far, the waits still in progress; the first total counts a wait when it ends)" : ""
    return "\(waits) waits that blocked, \(seconds(waitNanos)) in all; the \(kind.rawValue) profile: "
      + "\(contentions) contentions, \(seconds(delayNanos))\(inProgress)"
  }

  private static func seconds(_ nanos: UInt64) -> String {
    String(format: "%.3f s", Double(nanos) / 1e9)
  }
}
