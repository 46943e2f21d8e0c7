import Dispatch
import Foundation
import TargetLaunch

/// Rewrites the output with everything collected so far, every interval, on a
/// thread of its own while collection goes on. A long run that is cut short
/// (prof killed, machine lost) keeps its last checkpoint, and a disk that fills up
/// is reported while the program keeps running. Each checkpoint replaces the file
/// atomically, so the output is always a whole profile.
final class Checkpoints: @unchecked Sendable {  // mutable state is guarded by `lock`
  private let intervalNanos: UInt64
  private let path: String
  private let queue = DispatchQueue(label: "prof.checkpoints")
  private let lock = NSLock()
  private var next: UInt64  // the collecting thread's alone
  private var busy = false
  private var failing = false

  init(everySeconds seconds: Double, path: String) {
    intervalNanos = UInt64(seconds * 1e9)
    self.path = path
    next = AgentSession.monotonicNanos() + intervalNanos
  }

  /// Starts `write` in the background when a checkpoint is due and none is running.
  func offer(_ write: @escaping @Sendable () throws -> Void) {
    let now = AgentSession.monotonicNanos()
    guard now >= next, lock.withLock({ !busy }) else { return }
    lock.withLock { busy = true }
    next = now + intervalNanos
    queue.async { [self] in
      let error: Error?
      do {
        try write()
        error = nil
      } catch let failure {
        error = failure
      }
      lock.withLock {
        busy = false
        report(error)
      }
    }
  }

  /// Waits for a running checkpoint: the final write must replace it, not race it.
  func finish() { queue.sync {} }

  /// The first failure of a streak, and the recovery after it, once each.
  private func report(_ error: Error?) {
    if let error, !failing {
      warn("checkpoint failed: \(error); still profiling, the last checkpoint of \(path) (if any) stays in place")
    } else if error == nil, failing {
      warn("checkpoints of \(path) are written again")
    }
    failing = error != nil
  }
}
