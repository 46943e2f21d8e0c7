import Foundation
import ProfTestSupport
import XCTest

/// `prof trace --lock-wait-threshold` on fixtures/contention/lock_wait.c: "holder"
/// holds a mutex, then a write-locked rwlock, 50 ms each while "waiter" waits.
final class LockWaitTraceTests: OutputDirectoryTestCase {
  private struct Fixture {
    let values: [String: String]
    func number(_ key: String) throws -> Int { try XCTUnwrap(values[key].flatMap { Int($0) }, "\(key) in \(values)") }
  }

  /// Runs the fixture under prof trace; the validated events and what the fixture printed.
  private func trace(_ options: [String]) throws -> (events: [[String: Any]], fixture: Fixture, stderr: String) {
    let program = try ProfHarness.cFixture("contention", "lock_wait", into: directory)
    let file = directory.appendingPathComponent("locks.json").path
    let run = try ProfHarness.prof(["trace", "-o", file] + options + ["--", program, "50"])
    XCTAssertEqual(run.status, 0, run.stderr)
    var values: [String: String] = [:]
    for line in run.stdout.split(separator: "\n") {
      let parts = line.split(separator: " ", maxSplits: 1)
      if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
    }
    let events = try TraceValidator.validate(Data(contentsOf: URL(fileURLWithPath: file)))
    return (events, Fixture(values: values), run.stderr)
  }

  private func lockWaits(_ events: [[String: Any]]) -> [[String: Any]] {
    events.filter { $0["ph"] as? String == "X" && $0["name"] as? String == "waiting for lock" }
  }

  func testTheWaiterShowsWaitingForTheLockWithItsHolder() throws {
    let (events, fixture, stderr) = try trace([])  // the default threshold, 1 ms
    let waiter = try fixture.number("waiter_tid"), holder = try fixture.number("holder_tid")
    let tracks = Dictionary(events.filter { $0["name"] as? String == "thread_name" }.map {
      ($0["tid"] as! Int, ($0["args"] as! [String: Any])["name"] as! String)
    }) { $1 }
    let waits = lockWaits(events)
    XCTAssertEqual(waits.count, 2, "one wait per lock, none shorter than 1 ms: \(waits)")
    for (lock, measured) in [("mutex", "mutex_waited_ns"), ("rwlock", "rwlock_waited_ns")] {
      let address = try XCTUnwrap(fixture.values[lock])
      let slice = try XCTUnwrap(waits.first { ($0["args"] as? [String: Any])?["lock"] as? String == address },
                                "a wait for \(lock) \(address): \(waits)")
      XCTAssertEqual(tracks[slice["tid"] as! Int], "waiter spans", "on the waiting thread's track")
      XCTAssertEqual(slice["cat"] as? String, "lock")
      let arguments = try XCTUnwrap(slice["args"] as? [String: Any])
      XCTAssertEqual(arguments["holder tid"] as? Int, holder)
      XCTAssertEqual(arguments["holder"] as? String, "holder")
      let waitedMicros = Double(try fixture.number(measured)) / 1000
      XCTAssertGreaterThan(waitedMicros, 25_000, "the fixture waited for the hold")
      let duration = try XCTUnwrap((slice["dur"] as? NSNumber)?.doubleValue)
      XCTAssertEqual(duration, waitedMicros, accuracy: waitedMicros * 0.15, "the slice vs the fixture's own measure")
    }
    XCTAssertNotEqual(waiter, holder)
    XCTAssertTrue(stderr.contains("2 lock waits of 1ms or more"), stderr)
  }

  func testZeroThresholdRecordsNoLockWaits() throws {
    let (events, _, stderr) = try trace(["--lock-wait-threshold", "0"])
    XCTAssertEqual(lockWaits(events).count, 0)
    XCTAssertFalse(stderr.contains("lock waits"), stderr)
  }

  /// A positive threshold below a nanosecond is 1 ns, not 0 ("none"): lock waits stay on.
  func testAThresholdBelowOneNanosecondRecordsEveryWait() throws {
    for tiny in ["0.00000000000000000001s", "0.4ns"] {
      let (events, _, stderr) = try trace(["--lock-wait-threshold", tiny])
      XCTAssertGreaterThanOrEqual(lockWaits(events).count, 2, tiny)
      XCTAssertTrue(stderr.contains("lock waits of 1ns or more"), "\(tiny): \(stderr)")
    }
  }

  /// A threshold above both holds keeps neither.
  func testWaitsShorterThanTheThresholdAreLeftOut() throws {
    let (events, _, stderr) = try trace(["--lock-wait-threshold", "10s"])
    XCTAssertEqual(lockWaits(events).count, 0)
    XCTAssertTrue(stderr.contains("0 lock waits of 10s or more"), stderr)
  }

  func testThresholdsThatAreNotGoDurationsAreRefused() throws {
    for bad in ["1", "-1ms", "1h1s", "ms", "1e400s", "2 ms", "1e3ms"] {
      let run = try ProfHarness.prof(["trace", "--lock-wait-threshold", bad, "--", "/bin/true"])
      XCTAssertNotEqual(run.status, 0, bad)
      XCTAssertTrue(run.stderr.contains("--lock-wait-threshold"), "\(bad): \(run.stderr)")
    }
  }
}
