import AgentStream
import Glibc
import TargetLaunch

/// One recording: the program runs with the agent, its stream is decoded once and
/// fed to a sink (checkpointed as it goes), then the processes it started are read
/// the same way. Today the session launches the program; attaching to a running
/// one is a second way to make a `RecordedProgram`.
public final class RecordingSession {
  public let program: RecordedProgram
  private let children: ChildStreams?
  private let timeLimitNanos: UInt64?
  private var stream = RecordStream()
  public private(set) var ending = Ending.streamClosed
  /// CLOCK_MONOTONIC when collection ended.
  public private(set) var finishedNanos: UInt64 = 0

  /// How collection ended.
  public enum Ending: Equatable {
    case agentFinished
    case programExited(TerminationStatus)
    case streamClosed
    /// The agent did not finish within 5 s of its time limit.
    case deadline
  }

  /// Starts `command` with the agent preloaded and configured by `settings`.
  /// `timeLimitNanos`: the agent stops sampling then, and prof
  /// stops waiting 5 s later. `followChildren`: the processes it starts are recorded too.
  public static func launch(_ command: ResolvedCommand, settings: [String: String], timeLimitNanos: UInt64? = nil,
                            followChildren: Bool = false) throws -> RecordingSession {
    let children = followChildren ? try ChildStreams() : nil
    var settings = settings.merging(children?.settings ?? [:]) { $1 }
    if let timeLimitNanos { settings[AgentEnvironment.durationNanos.name] = String(timeLimitNanos) }
    do {
      let program = try TargetProcess(command: command, environment: AgentLibrary.environment(settings: settings))
      return RecordingSession(program: program, children: children, timeLimitNanos: timeLimitNanos)
    } catch {
      children?.remove()
      throw error
    }
  }

  init(program: RecordedProgram, children: ChildStreams?, timeLimitNanos: UInt64?) {
    self.program = program
    self.children = children
    self.timeLimitNanos = timeLimitNanos
  }

  deinit { children?.remove() }

  public var start: StreamStart? { stream.start }
  public var endReason: EndReason? { stream.endReason }

  /// Whether the program should get SIGINT once the output is written: sampling
  /// stopped because the time limit elapsed, not because the program exited.
  public var stoppedEarly: Bool { endReason == .duration || ending == .deadline }

  /// Nanoseconds from the agent's start to the end of collection.
  public var durationNanos: Int64 { MonotonicClock.nanos(from: start?.monotonicNanos, to: finishedNanos) }

  /// Feeds the program's stream to `sink` until the agent finishes, the program
  /// exits or the deadline passes; `checkpoints` are offered a copy of the sink
  /// after each of the agent's flushes, and have finished writing on return.
  /// Signals for prof go on to the program. `observe` sees each record as it is
  /// decoded, on this thread (an early symbolizer noting addresses): it must not block.
  public func record<Sink: RecordSink>(into sink: inout Sink, checkpoints: [Checkpoints<Sink>] = [],
                                       observe: (AgentRecord) -> Void = { _ in }) {
    let deadline = timeLimitNanos.map { MonotonicClock.now() + $0 + 5_000_000_000 }
    var stream = RecordStream()
    ending = Self.pump(program, deadlineNanos: deadline) { bytes in
      stream.feed(bytes, into: &sink, observe: observe) { sink, start in
        let elapsed = MonotonicClock.nanos(from: start?.monotonicNanos)
        checkpoints.forEach { $0.offer(sink, durationNanos: elapsed) }
      }
      return stream.endReason != nil
    }
    finishedNanos = MonotonicClock.now()  // before waiting for checkpoint writes: they are not the program's time
    self.stream = stream
    checkpoints.forEach { $0.finish() }
    stream.finish()
    if start == nil && !stream.failed {
      warn("the agent sent nothing: the program may have exited before its libraries loaded, or dropped LD_PRELOAD")
    }
  }

  /// Sends SIGINT when the program was stopped early, then waits for it.
  public func finish() -> TerminationStatus {
    if stoppedEarly { program.send(SIGINT) }
    return program.waitForExit()
  }

  /// Each followed child's stream decoded into a sink from `makeSink`, ordered by
  /// name; empty unless children are followed.
  public func children<Sink: RecordSink>(_ makeSink: () -> Sink) throws -> [ChildRecording<Sink>] {
    try children?.recordings(makeSink) ?? []
  }

  private static func pump(_ program: RecordedProgram, deadlineNanos: UInt64?, consume: ([UInt8]) -> Bool) -> Ending {
    while true {
      switch program.nextEvent(timeoutMilliseconds: remainingMilliseconds(until: deadlineNanos)) {
      case .stream(let bytes):
        if consume(bytes) { return .agentFinished }
      case .streamClosed:
        return .streamClosed
      case .exited(let status):
        _ = consume(program.drainStream())
        return .programExited(status)
      case .signal(let signal, let fromTerminal):
        if !fromTerminal { program.send(signal) }
      case .timeout:
        if deadlineNanos != nil { return .deadline }
      }
    }
  }

  private static func remainingMilliseconds(until deadline: UInt64?) -> Int32 {
    guard let deadline else { return -1 }
    let now = MonotonicClock.now()
    return now >= deadline ? 0 : Int32(min((deadline - now) / 1_000_000 + 1, UInt64(Int32.max)))
  }
}

/// What a recording needs of the program it records.
public protocol RecordedProgram: AnyObject {
  var pid: pid_t { get }
  /// User plus system CPU time, itself alone, known once it has exited.
  var cpuNanos: UInt64? { get }
  /// CPU time of the processes it started and waited for, once it has exited.
  var childrenCPUNanos: UInt64? { get }
  /// Why the agent's final flush is missing, for the user (see TargetProcess).
  func missingFinalFlushMessage(lastProgram: String, lost: String) -> String
  func nextEvent(timeoutMilliseconds: Int32) -> TargetProcess.Event
  func drainStream() -> [UInt8]
  func send(_ signal: Int32)
  func waitForExit() -> TerminationStatus
}

extension TargetProcess: RecordedProgram {}
