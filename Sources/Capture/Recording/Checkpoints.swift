import Dispatch
import Foundation
import OutputFile
import TargetLaunch

/// Writes the output built from the sink so far, every interval, on a thread of
/// its own while recording goes on: checkpoints of the output (a long run cut
/// short, prof killed or the machine lost, keeps the last one) and prof heap's
/// numbered snapshots. Every file is replaced atomically, so each is a whole
/// output. A failure (a full disk) is reported once and the program keeps running.
public final class Checkpoints<Sink>: @unchecked Sendable {  // mutable state is guarded by `lock`
  public typealias Render = (_ sink: Sink, _ durationNanos: Int64) throws -> [UInt8]

  private let intervalNanos: UInt64
  private let what: String
  private let path: (_ number: Int) -> String
  private let render: Render
  private let queue: DispatchQueue
  private let lock = NSLock()
  private var next: UInt64  // this and `started`: the recording thread's alone
  private var started = 0
  private var busy = false
  private var failing = false
  private var succeeded = 0

  /// `what` names the files in messages; `path` names the n-th file (1, 2, ...);
  /// `render` makes its bytes from a copy of the sink and the time since the
  /// agent's start. Writers that share `queue` never run at the same time, so
  /// their `render`s may share a symbolizer, as may the final write after `finish`.
  public init(every intervalNanos: UInt64, what: String, queue: DispatchQueue,
              path: @escaping (_ number: Int) -> String, render: @escaping Render) {
    self.intervalNanos = intervalNanos
    self.what = what
    self.path = path
    self.render = render
    self.queue = queue
    next = MonotonicClock.now() + intervalNanos
  }

  /// Files written so far.
  public var written: Int { lock.withLock { succeeded } }

  /// Starts a write of `sink` in the background when one is due and none of this
  /// kind is running.
  func offer(_ sink: Sink, durationNanos: Int64) {
    let now = MonotonicClock.now()
    guard now >= next, claim() else { return }
    next = now + intervalNanos
    started += 1
    let copy = SinkCopy(sink: sink)
    queue.async { [self, started] in
      let error: Error?
      do {
        try AtomicOutputFile(path: path(started)).commit(render(copy.sink, durationNanos))
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

/// A sink's value handed to the writing thread: a copy no other thread mutates.
private struct SinkCopy<Sink>: @unchecked Sendable {
  let sink: Sink
}
