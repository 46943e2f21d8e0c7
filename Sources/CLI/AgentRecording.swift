import AgentStream
import TargetLaunch

/// One run's agent stream, decoded as it arrives and handed record by record to
/// whatever builds the output (a CPU profile, a trace).
struct AgentRecording {
  var start: StreamStart?
  var endReason: EndReason?
  var ending = AgentSession.Ending.streamClosed
  var finishedNanos: UInt64 = 0

  /// Whether the target should get SIGINT once the output is written: sampling
  /// stopped because --duration elapsed, not because the target exited.
  var stoppedEarly: Bool { endReason == .duration || ending == .deadline }

  /// `duration`: prof stops waiting 5 s after the agent should have finished.
  static func collect(from process: TargetProcess, duration: Seconds?,
                      consume: (AgentRecord) -> Void) throws -> AgentRecording {
    var recording = AgentRecording()
    var decoder = AgentStreamDecoder()
    var unreadable = false  // said why: no second guess
    let deadline = duration.map { AgentSession.monotonicNanos() + $0.nanoseconds + 5_000_000_000 }
    do {
      recording.ending = try AgentSession.collect(from: process, deadlineNanos: deadline) { bytes in
        decoder.append(bytes)
        while let record = try decoder.next() {
          switch record {
          case .start(let start): if recording.start == nil { recording.start = start }
          case .end(let reason): recording.endReason = reason
          case .notice(.unwinderUnavailable):
            warn("libunwind.so.8 could not be loaded in the program, so nothing was recorded: install libunwind (Debian: libunwind8) or use --unwind fp")
          default: break
          }
          consume(record)
        }
        return recording.endReason != nil
      }
    } catch let failure as AgentStreamDecoder.Failure {
      warn(recording.start == nil ? "\(failure)" : "\(failure); keeping the samples read before it")
      unreadable = true
    }
    if let skipped = decoder.skippedSummary { warn(skipped) }
    if recording.start == nil && !unreadable {
      warn("the agent sent nothing: the program may have exited before its libraries loaded, or dropped LD_PRELOAD")
    }
    recording.finishedNanos = AgentSession.monotonicNanos()
    return recording
  }

  /// Nanoseconds from the agent's start to the end of collection.
  var durationNanos: Int64 { AgentSession.nanos(from: start?.monotonicNanos, to: finishedNanos) }
}
