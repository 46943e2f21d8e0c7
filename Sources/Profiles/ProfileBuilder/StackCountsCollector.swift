import AgentStream
import Recording

/// A mode that aggregates in the target (heap, contention): the agent defines each
/// distinct stack once (a bucket), then sends the latest cumulative counts of the
/// buckets that changed, and its exact totals.
public protocol AggregatingMode {
  associatedtype Counts: BucketCounts
  associatedtype Stats
  static var noStats: Stats { get }
  /// This mode's part of a record; nil for the records of other modes.
  static func part(of record: AgentRecord) -> AggregatedRecord<Counts, Stats>?
  /// The run's totals: those of the process images an exec replaced (`earlier`,
  /// already combined) and those of the image running now, whose agent counts from
  /// zero (an exec'd program continues the stream).
  static func combine(earlier: Stats, current: Stats) -> Stats
}

/// The counts of one bucket, named by its id.
public protocol BucketCounts {
  var bucket: UInt32 { get set }
  /// These counts once an exec replaced the process image that made them: what
  /// that image held (heap in use) is gone, what it did (allocations, waits) stays.
  func afterExec() -> Self
}

public enum AggregatedRecord<Counts, Stats> {
  case bucket(HeapBucket)
  case counts([Counts])
  case stats(Stats)
}

/// Accumulates an aggregating mode's stream: stacks as the agent defines them, the
/// latest cumulative counts of each, and the agent's exact totals. A later START
/// is a new process image (the program exec'd another one, which goes on with the
/// stream): its agent numbers its buckets from scratch, so they are kept apart
/// from the earlier images' (their ids offset past every id seen before).
public struct StackCountsCollector<Mode: AggregatingMode>: RecordSink {
  public private(set) var start: StreamStart?
  /// The last process image's modules first, so that mapping[0] is the program
  /// that ran last (a wrapper script may have exec'd it).
  public var modules: [LoadedModule] { images.reversed().flatMap { $0 } }
  private var images: [[LoadedModule]] = [[]]
  public private(set) var buckets: [UInt32: HeapBucket] = [:]
  public private(set) var counts: [UInt32: Mode.Counts] = [:]
  /// Combined over the process images of the run (Mode.combine).
  public var stats: Mode.Stats { Mode.combine(earlier: earlierImages, current: lastImageStats) }
  private var earlierImages = Mode.noStats
  /// The totals of the last process image alone: what it still holds at the end.
  public private(set) var lastImageStats = Mode.noStats
  public private(set) var endReason: EndReason?
  /// Counts for a bucket the stream never defined: a corrupt stream, reported.
  public private(set) var undefinedBuckets = 0
  private var knownModules = Set<LoadedModule>()
  /// Added to the current image's bucket ids; the next image's starts past every id so far.
  private var idOffset: UInt32 = 0
  private var nextOffset: UInt32 = 0

  public init() {}

  /// What to tell the user about undefinedBuckets; nil when there were none.
  public var undefinedBucketsWarning: String? {
    undefinedBuckets > 0 ? "\(undefinedBuckets) counts named stacks the agent never sent" : nil
  }

  public mutating func consume(_ record: AgentRecord) {
    switch record {
    case .start(let start):
      if self.start == nil {
        self.start = start
      } else {
        newImage()
      }
    case .module(let module):
      if knownModules.insert(module).inserted { images[images.count - 1].append(module) }
    case .end(let reason): endReason = reason
    default:
      switch Mode.part(of: record) {
      case .bucket(var bucket)?:
        bucket.id = own(bucket.id)
        buckets[bucket.id] = bucket
      case .counts(let latest)?:
        for var entry in latest {
          entry.bucket = own(entry.bucket)
          if buckets[entry.bucket] == nil { undefinedBuckets += 1 } else { counts[entry.bucket] = entry }
        }
      case .stats(let stats)?: lastImageStats = stats
      case nil: break  // other modes' records
      }
    }
  }

  /// The process exec'd another program: what the replaced image counted stays,
  /// as it stood at the exec; the new image's counts start from zero.
  private mutating func newImage() {
    earlierImages = stats
    lastImageStats = Mode.noStats
    images.append([])
    idOffset = nextOffset
    counts = counts.mapValues { $0.afterExec() }
  }

  /// A bucket id of the current image, as this collector keeps it.
  private mutating func own(_ id: UInt32) -> UInt32 {
    let (kept, overflow) = idOffset.addingReportingOverflow(id)
    let owned = overflow ? id : kept  // four billion buckets: not from a real agent
    if owned >= nextOffset { nextOffset = owned &+ 1 }
    return owned
  }
}
