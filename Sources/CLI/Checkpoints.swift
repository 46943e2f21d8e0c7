import ArgumentParser
import Dispatch
import Foundation
import TargetLaunch

/// --checkpoint-every, for prof cpu and prof heap.
struct CheckpointOptions: ParsableArguments {
  @Option(help: ArgumentHelp("Rewrite the output with what was collected so far this often while the program runs (0: only at the end), so that a run cut short keeps a profile.",
                             valueName: "seconds"))
  var checkpointEvery = Seconds(10)

  /// Checkpoints on `queue`, or nil when they are off.
  func checkpoints(queue: DispatchQueue = DispatchQueue(label: "prof.checkpoints")) -> Checkpoints? {
    checkpointEvery.value > 0 ? Checkpoints(every: checkpointEvery, what: "checkpoint", queue: queue) : nil
  }
}

/// Writes the profile collected so far, every interval, on a thread of its own
/// while collection goes on: checkpoints of the output (a long run cut short, prof
/// killed or the machine lost, keeps the last one) and prof heap's numbered
/// snapshots. Every file is replaced atomically, so each is a whole profile. A
/// failure (a full disk) is reported once and the program keeps running.
final class Checkpoints: @unchecked Sendable {  // mutable state is guarded by `lock`
  private let intervalNanos: UInt64
  private let what: String
  private let queue: DispatchQueue
  private let lock = NSLock()
  private var next: UInt64  // this and `started`: the collecting thread's alone
  private var started = 0
  private var busy = false
  private var failing = false
  private var succeeded = 0

  /// `what` names the files in messages. Writers that share `queue` never run at
  /// the same time, so they may share a symbolizer.
  init(every interval: Seconds, what: String, queue: DispatchQueue) {
    intervalNanos = interval.nanoseconds
    self.what = what
    self.queue = queue
    next = AgentSession.monotonicNanos() + intervalNanos
  }

  /// Files written so far.
  var written: Int { lock.withLock { succeeded } }

  /// Starts `write` in the background when a write is due and none of this kind
  /// is running; `number` counts the writes started (1, 2, ...).
  func offer(_ write: @escaping @Sendable (_ number: Int) throws -> Void) {
    let now = AgentSession.monotonicNanos()
    guard now >= next, claim() else { return }
    next = now + intervalNanos
    started += 1
    queue.async { [self, started] in
      let error: Error?
      do {
        try write(started)
        error = nil
      } catch let failure {
        error = failure
      }
      lock.withLock {
        busy = false
        if error == nil { succeeded += 1 }
        report(error)
      }
    }
  }

  /// True when no write of this kind was running: now one is.
  private func claim() -> Bool {
    lock.withLock {
      if busy { return false }
      busy = true
      return true
    }
  }

  /// Waits for running writes: the final write must replace a checkpoint, not race it.
  func finish() { queue.sync {} }

  /// The first failure of a streak, and the recovery after it, once each.
  private func report(_ error: Error?) {
    if let error, !failing {
      warn("\(what) failed: \(error); still profiling")
    } else if error == nil, failing {
      warn("\(what) written again")
    }
    failing = error != nil
  }
}
