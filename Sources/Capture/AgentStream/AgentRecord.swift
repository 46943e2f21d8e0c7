import ProfStreamFormat

/// One record of the agent's stream (Sources/Agent/STREAM.md), as Swift values.
public enum AgentRecord: Equatable, Sendable {
  case start(StreamStart)
  case sample(RawSample)
  case thread(tid: UInt32, name: String)
  case module(LoadedModule)
  case stats(AgentStats)
  case end(EndReason)
  case idle(IdleTick)
  case trace(TraceEvent)
  case residentSetSize(monotonicNanos: UInt64, bytes: UInt64)
  case heap(HeapRecord)
  case contention(ContentionRecord)
  case lockWait(LockWait)
  case notice(AgentNotice)
}

/// Something the program did that affects the profile (prof_notice_record).
public enum AgentNotice: Equatable, Sendable {
  /// The program installed its own handler for the sampling signal.
  case handlerReplaced(signal: Int32)
  /// A thread blocks the sampling signal: it is not sampled.
  case signalBlocked(SignalBlockingThread)
  /// libunwind could not be loaded in the target: the agent recorded nothing.
  case unwinderUnavailable
  /// PROF_UNWIND_CHECK with --unwind hybrid: stacks unwound both ways so far, and
  /// how many of them differed from libunwind's.
  case unwindCheck(compared: UInt64, mismatched: UInt64)
  /// Sent with unwindCheck: frames the hybrid unwinder took from frame pointers, of all.
  case unwindCheckFrames(fromFramePointers: UInt64, all: UInt64)
}

/// A thread that blocks the sampling signal, so that none of its CPU time is
/// sampled while it does, and the CPU time it had used when the agent looked.
public struct SignalBlockingThread: Equatable, Sendable {
  public var tid: UInt32
  public var name: String
  public var signal: SamplingSignal
  public var cpuNanos: UInt64

  /// CPU time no sample stands for: what it used, less `periods` timer periods of
  /// `periodNanos` that its samples cover.
  public func unsampledNanos(sampledPeriods periods: UInt64, periodNanos: UInt64) -> UInt64 {
    let sampled = periods.multipliedReportingOverflow(by: periodNanos)
    return sampled.overflow || sampled.partialValue >= cpuNanos ? 0 : cpuNanos - sampled.partialValue
  }
}

/// Wall-clock mode: the thread did not run since the previous tick.
public struct IdleTick: Equatable, Sendable {
  public var tid: UInt32
  public var monotonicNanos: UInt64
  public var threadCPUNanos: UInt64
}

/// An event a program recorded with the ProfTrace library.
public struct TraceEvent: Equatable, Sendable {
  public enum Kind: UInt32, Sendable {
    case begin = 1, end, instant, counter, flowStart, flowEnd
  }

  public var tid: UInt32
  public var kind: Kind
  public var monotonicNanos: UInt64
  public var value: Int64
  public var id: UInt64
  public var name: String
}

/// Trace mode: a wait for a lock that lasted at least `PROF_LOCK_WAIT_NS`.
public struct LockWait: Equatable, Sendable {
  public var tid: UInt32
  /// Who held the lock when the wait began; 0: unknown (a read-locked rwlock).
  public var holderTID: UInt32
  public var lockAddress: UInt64
  public var startNanos: UInt64
  public var endNanos: UInt64

  public init(tid: UInt32, holderTID: UInt32, lockAddress: UInt64, startNanos: UInt64, endNanos: UInt64) {
    self.tid = tid
    self.holderTID = holderTID
    self.lockAddress = lockAddress
    self.startNanos = startNanos
    self.endNanos = endNanos
  }
}

public struct StreamStart: Equatable, Sendable {
  public var pid: UInt32
  public var hz: UInt32
  public var realtimeNanos: UInt64
  public var monotonicNanos: UInt64
}

public struct RawSample: Equatable, Sendable {
  public var tid: UInt32
  public var weight: UInt32
  public var monotonicNanos: UInt64
  /// The thread's CPU clock when tracing, else 0.
  public var threadCPUNanos: UInt64
  /// frames[0] is the interrupted pc, later frames are return addresses.
  public var frames: [UInt64]
  public var truncated: Bool
  /// Swift async contexts found at this stack's frames (prof_async_record), for
  /// prof to go on from an async frame with the functions awaiting it.
  public var asyncChains: [AsyncChain] = []
}

/// An async context candidate at one frame of a sample and the resume functions
/// of the contexts it leads to: its parent's, its grandparent's, and so on.
public struct AsyncChain: Equatable, Hashable, Sendable {
  public enum Source: UInt32, Sendable {
    /// r14 at `frame` and the frames after it up to the next register candidate.
    case register = 1
    /// The word below `frame`'s frame pointer (the async frame layout).
    case frameSlot = 2
    /// The running task's resume context: the one its job resumed, at `frame` or
    /// a callee that returned to it without suspending (see `resumedFunction`).
    case task = 5
  }

  public var frame: Int
  public var source: Source
  /// Function addresses (not return addresses), innermost caller first.
  public var resumeFunctions: [UInt64]
  /// The chain ended at a context without a parent (the task's entry), not at a limit.
  public var reachedEntry: Bool
  /// `.task`: the function the task's job resumed (the context's own resume point).
  public var resumedFunction: UInt64?

  public init(frame: Int, source: Source, resumeFunctions: [UInt64], reachedEntry: Bool, resumedFunction: UInt64? = nil) {
    self.frame = frame
    self.source = source
    self.resumeFunctions = resumeFunctions
    self.reachedEntry = reachedEntry
    self.resumedFunction = resumedFunction
  }
}

/// One executable segment of a loaded ELF object.
public struct LoadedModule: Equatable, Hashable, Sendable {
  public var start: UInt64
  public var limit: UInt64
  public var fileOffset: UInt64
  /// Subtracted from a pc to get the address inside the ELF file.
  public var loadBias: UInt64
  public var buildID: [UInt8]
  public var path: String

  public init(start: UInt64, limit: UInt64, fileOffset: UInt64, loadBias: UInt64, buildID: [UInt8], path: String) {
    self.start = start
    self.limit = limit
    self.fileOffset = fileOffset
    self.loadBias = loadBias
    self.buildID = buildID
    self.path = path
  }

  public var buildIDHex: String { buildID.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }

  public func contains(_ address: UInt64) -> Bool { address >= start && address < limit }
}

public struct AgentStats: Equatable, Sendable {
  public var samples: UInt64 = 0
  public var dropped: UInt64 = 0
  public var handlerNanos: UInt64 = 0
  public var frames: UInt64 = 0
  public var foreignSignals: UInt64 = 0
  public var threads: UInt64 = 0
  /// Our signals that arrived while sampling: samples + dropped.
  public var taken: UInt64 = 0

  public init() {}

  /// Counts of two process images, one exec'd by the other: each image's agent counts from zero.
  public static func + (a: AgentStats, b: AgentStats) -> AgentStats {
    var sum = AgentStats()
    sum.samples = a.samples + b.samples
    sum.dropped = a.dropped + b.dropped
    sum.handlerNanos = a.handlerNanos + b.handlerNanos
    sum.frames = a.frames + b.frames
    sum.foreignSignals = a.foreignSignals + b.foreignSignals
    sum.threads = a.threads + b.threads
    sum.taken = a.taken + b.taken
    return sum
  }
}

public enum EndReason: Equatable, Sendable {
  case exit
  case duration
  case unknown(UInt32)

  init(_ raw: UInt32) {
    switch raw {
    case UInt32(PROF_END_EXIT.rawValue): self = .exit
    case UInt32(PROF_END_DURATION.rawValue): self = .duration
    default: self = .unknown(raw)
    }
  }
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}
