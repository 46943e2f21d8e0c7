import AgentStream
import Glibc
import TargetLaunch

/// A window of a running process's stream, read over its agent's control socket
/// (`--pid`): the same records as a launched program's, for the same collectors.
enum AttachedRecording {
  /// Asks `pid`'s agent for `request`; after `duration` (nil: until the agent ends
  /// the stream by itself, as a thread dump does) or Ctrl-C, says `stop` and reads
  /// to the end. The program is never signalled or waited for.
  static func collect(pid: Int32, request: String, duration: Seconds?,
                      consume: (AgentRecord) -> Void) throws -> AgentRecording {
    let connection: AgentConnection
    do { connection = try AgentConnection(pid: pid, request: request) } catch { throw ProfError(error.description) }
    var interrupts = sigset_t()
    sigemptyset(&interrupts)
    sigaddset(&interrupts, SIGINT)
    sigaddset(&interrupts, SIGTERM)
    var previousMask = sigset_t()
    pthread_sigmask(SIG_BLOCK, &interrupts, &previousMask)
    defer { pthread_sigmask(SIG_SETMASK, &previousMask, nil) }

    var recording = AgentRecording()
    var decoder = AgentStreamDecoder()
    var first = true
    let deadline = duration.map { AgentSession.monotonicNanos() + $0.nanoseconds }
    var giveUp: UInt64?  // after `stop`: an agent that never answers is not waited for
    reading: while recording.endReason == nil {
      let now = AgentSession.monotonicNanos()
      if let deadline, giveUp == nil, now >= deadline || interrupted(&interrupts) {
        connection.stop()
        giveUp = now + 5_000_000_000
      }
      if let giveUp, now >= giveUp { break }
      switch connection.next(timeoutMilliseconds: 100) {
      case .timeout: continue
      case .closed: break reading
      case .stream(let bytes):
        if first, let refused = connection.refusal(in: bytes) { throw ProfError(refused.description) }
        first = false
        decoder.append(bytes)
        do {
          while let record = try decoder.next() {
            switch record {
            case .start(let start): if recording.start == nil { recording.start = start }
            case .end(let reason): recording.endReason = reason
            default: break
            }
            consume(record)
          }
        } catch {
          warn(recording.start == nil ? "\(error)" : "\(error); keeping the samples read before it")
          break reading
        }
      }
    }
    if recording.start == nil { throw ProfError("process \(pid)'s agent sent nothing: it may have exited") }
    if recording.endReason == nil || recording.endReason == .exit {
      warn("process \(pid) exited during the window: keeping what was recorded until then")
    }
    recording.finishedNanos = AgentSession.monotonicNanos()
    return recording
  }

  private static func interrupted(_ signals: inout sigset_t) -> Bool {
    var none = timespec()
    return sigtimedwait(&signals, nil, &none) > 0
  }
}
