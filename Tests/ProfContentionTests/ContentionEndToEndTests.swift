import Foundation
import Pprof
import ProfTestSupport
import XCTest

/// prof block and prof mutex on fixtures/contention, read back by go tool pprof.
final class ContentionEndToEndTests: OutputDirectoryTestCase {
  private func fixture(_ name: String) throws -> String {
    try ProfHarness.cFixture("contention", name, into: directory)
  }

  /// The fixture's own measure of its waits: "waited_ns N".
  private func waitedNanos(_ run: ProfHarness.Run) throws -> Double {
    let match = try XCTUnwrap(run.stdout.firstMatch(of: try Regex(#"waited_ns (\d+)"#)), run.stdout)
    return try XCTUnwrap(Double(match.output[1].substring!))
  }

  private func profile(_ file: String) throws -> Profile {
    try Profile(fileBytes: Array(try Data(contentsOf: URL(fileURLWithPath: file))))
  }

  /// Runs `mode` on a fixture; the profile's delay agrees with what the fixture
  /// measured and >= 90% of it is under `function` (a prefix of the symbol).
  private func checkAttribution(_ mode: String, to function: String, command: [String]? = nil) throws {
    let command = try command ?? [fixture("mutex_contention"), "4", "20", "5"]
    let file = output("\(mode).pb.gz")
    let run = try ProfHarness.prof([mode, "-o", file, "--"] + command)
    XCTAssertEqual(run.status, 0, run.stderr)
    try checkProfile(file, waited: try waitedNanos(run), under: function)
  }

  /// A profile go tool pprof reads without warnings, in Go's types, whose delay
  /// agrees with `waited` within 15%, >= 90% of it under `function`.
  private func checkProfile(_ file: String, waited: Double, under function: String) throws {
    XCTAssertGreaterThan(waited, 0.3e9, "the fixture's threads waited")
    let top = try ProfHarness.pprof(["-top", file])
    XCTAssertEqual(top.stderr, "", "go tool pprof reads \(file) without warnings")
    let read = try profile(file)
    XCTAssertEqual(read.sampleTypes.map { "\($0.type)/\($0.unit)" }, ["contentions/count", "delay/nanoseconds"])
    XCTAssertEqual(read.periodType.map { "\($0.type)/\($0.unit)" }, "contentions/count")

    let (totalMs, rows) = try ProfHarness.top(file)
    XCTAssertEqual(totalMs * 1e6, waited, accuracy: waited * 0.15, "\(file)'s delay vs the fixture's own")
    let under = try XCTUnwrap(rows.first { $0.name == function || $0.name.hasPrefix(function + "(") }, "\(rows)")
    XCTAssertGreaterThanOrEqual(under.cum, totalMs * 0.9, "\(function) holds >= 90%: \(rows)")
  }

  func testBlockProfileChargesTheWaitsToTheWaitingFunction() throws {
    try checkAttribution("block", to: "wait_for_lock")
  }

  /// A shell wrapper that execs the program: the program goes on with the wrapper's
  /// stream, its waits are in the profile, and nothing blames a missing agent.
  func testBlockFollowsTheProgramAWrapperExecs() throws {
    let program = try fixture("mutex_contention")
    let file = output("wrapped.pb.gz")
    let run = try ProfHarness.prof(["block", "-o", file, "--", "/bin/sh", "-c", "exec \"$0\" 4 20 5", program])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertFalse(run.stderr.contains("ran without prof's agent"), run.stderr)
    XCTAssertFalse(run.stderr.contains(" 0 waits that blocked"), run.stderr)
    try checkProfile(file, waited: try waitedNanos(run), under: "wait_for_lock")
    XCTAssertEqual(try profile(file).mappings.first.map { URL(fileURLWithPath: $0.filename).lastPathComponent }, "mutex_contention",
                   "the program that ran last is the profile's main mapping")
  }

  func testMutexProfileChargesTheWaitsToTheReleasingFunction() throws {
    try checkAttribution("mutex", to: "release_lock")
  }

  /// prof block --mutex-profile: both profiles from one run, each as its own command writes it.
  func testBlockWithMutexProfileWritesBothFromOneRun() throws {
    let (block, mutex) = (output("both.block.pb.gz"), output("both.mutex.pb.gz"))
    let run = try ProfHarness.prof(["block", "-o", block, "--mutex-profile", mutex, "--", fixture("mutex_contention"), "4", "20", "5"])
    XCTAssertEqual(run.status, 0, run.stderr)
    try checkProfile(block, waited: try waitedNanos(run), under: "wait_for_lock")
    try checkProfile(mutex, waited: try waitedNanos(run), under: "release_lock")
    XCTAssertTrue(run.stderr.contains("the block profile:") && run.stderr.contains("the mutex profile:"), run.stderr)
    let refused = try ProfHarness.prof(["block", "--mutex-profile", mutex, "--follow-children", "--", "/bin/true"])
    XCTAssertNotEqual(refused.status, 0)
    XCTAssertTrue(refused.stderr.contains("--mutex-profile"), refused.stderr)
  }

  /// fixtures/workloads' contention: Swift's primitives, 4 threads, 20 rounds, 5 ms holds.
  private func swiftFixture(_ primitive: String) throws -> [String] {
    [try ProfHarness.workload("contention"), primitive, "4", "20", "5"]
  }

  func testNSLockWaitsAndReleases() throws {
    try checkAttribution("block", to: "contention.waitForLock", command: try swiftFixture("nslock"))
    try checkAttribution("mutex", to: "contention.releaseLock", command: try swiftFixture("nslock"))
  }

  /// SwiftNIO's NIOLock is a pthread mutex underneath, its lock() inlined into the caller.
  func testNIOLockWaitsAndReleases() throws {
    try checkAttribution("block", to: "contention.waitForLock", command: try swiftFixture("niolock"))
    try checkAttribution("mutex", to: "contention.releaseLock", command: try swiftFixture("niolock"))
  }

  func testConditionVariableWaits() throws {
    try checkAttribution("block", to: "contention.waitForLock", command: try swiftFixture("condition"))
  }

  func testDispatchSemaphoreWaits() throws {
    try checkAttribution("block", to: "contention.waitForLock", command: try swiftFixture("semaphore"))
  }

  /// DispatchQueue.sync and a barrier sync: the interposed dispatch_sync and
  /// dispatch_barrier_sync time the wait until the work starts, not the work.
  func testDispatchQueueSyncWaits() throws {
    try checkAttribution("block", to: "contention.waitForQueue", command: try swiftFixture("dispatch-sync"))
    try checkAttribution("block", to: "contention.waitForQueue", command: try swiftFixture("dispatch-barrier"))
  }

  /// DispatchGroup.wait: the whole call, when it did not return at once.
  func testDispatchGroupWaits() throws {
    try checkAttribution("block", to: "contention.waitForGroup", command: try swiftFixture("group"))
  }

  /// The work runs outside the hook: an NSLock taken inside syncs (on a concurrent
  /// queue, so they never wait for the queue) is recorded as usual.
  func testLocksInsideSyncedWorkAreRecorded() throws {
    try checkAttribution("block", to: "contention.waitForLock", command: try swiftFixture("nslock-in-sync"))
  }

  /// A DispatchWorkItem's block carries libdispatch's private data (QoS, flags):
  /// passed through untimed, and it still runs.
  func testDispatchWorkItemSyncPassesThroughUntimed() throws {
    let run = try ProfHarness.prof(["block", "-o", output("workitem.pb.gz"), "--"] + swiftFixture("dispatch-workitem"))
    XCTAssertEqual(run.status, 0, run.stderr)
    let waited = try waitedNanos(run)
    XCTAssertGreaterThan(waited, 0.3e9, "the work ran and waited for the queue")
    // Untimed: the syncs' waits are not there. A stray wait of the runtime's may be
    // (a millisecond, seen once), far from the work's.
    let match = try XCTUnwrap(run.stderr.firstMatch(of: try Regex(#"(\d+) waits that blocked, ([0-9.]+) s in all"#)), run.stderr)
    XCTAssertLessThan(try XCTUnwrap(Double(match.output[2].substring!)) * 1e9, 0.1 * waited, run.stderr)
  }

  /// libdispatch in a local scope (a plugin's dependency, dlopen'ed RTLD_LOCAL):
  /// the hooks find it all the same and the work runs, in block mode and dormant.
  func testDispatchInALocalScopeStillRuns() throws {
    let program = try fixture("dispatch_local")
    let resources = try ProfHarness.run("/usr/bin/env", ["clang", "-print-resource-dir"])
    let library = URL(fileURLWithPath: resources.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
      .appendingPathComponent("../../swift/linux/libdispatch.so").standardized.path
    let blocked = try ProfHarness.prof(["block", "-o", output("local.pb.gz"), "--", program, library])
    XCTAssertEqual(blocked.status, 0, blocked.stderr)
    XCTAssertEqual(blocked.stdout, "ok\n")
    let dormant = try ProfHarness.prof(["run", "--", program, library])
    XCTAssertEqual(dormant.status, 0, dormant.stderr)
    XCTAssertEqual(dormant.stdout, "ok\n")
  }

  /// Synchronization.Mutex: its out-of-line slow paths, interposed. withLock both
  /// waits and releases inside holdMutex.
  func testSwiftMutexWaitsAndReleases() throws {
    try checkAttribution("block", to: "contention.holdMutex", command: try swiftFixture("mutex"))
    try checkAttribution("mutex", to: "contention.holdMutex", command: try swiftFixture("mutex"))
  }

  /// A rate above every wait: each recorded wait counts rate ns and rate/delay waits.
  func testBlockRateSamplesShortWaitsAndUnbiasesThem() throws {
    let program = try fixture("mutex_contention")
    let file = output("sampled.pb.gz")
    let rate: Int64 = 1_000_000_000
    let run = try ProfHarness.prof(["block", "--rate", String(rate), "-o", file, "--", program, "4", "20", "5"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let read = try profile(file)
    for sample in read.samples {
      XCTAssertEqual(sample.values[1] % rate, 0, "every kept wait counts the rate")
      XCTAssertGreaterThanOrEqual(sample.values[0], sample.values[1] / rate, "and at least one contention each")
    }
    let kept = read.samples.reduce(Int64(0)) { $0 + $1.values[1] } / rate
    let waits = try XCTUnwrap(Int64(try XCTUnwrap(run.stderr.firstMatch(of: try Regex(#"(\d+) waits that blocked"#))).output[1].substring!))
    XCTAssertLessThan(kept, waits, "waits far shorter than the rate are sampled, not all kept")
  }

  func testOptionsOutOfRangeAreRefusedInOneLine() throws {
    for arguments in [["block", "--rate", "0"], ["mutex", "--fraction", "0"], ["mutex", "--fraction", "x"]] {
      let run = try ProfHarness.prof(arguments + ["--", "/bin/true"])
      XCTAssertNotEqual(run.status, 0, "\(arguments)")
      XCTAssertTrue(run.stderr.contains("Error:"), run.stderr)
    }
  }

  /// Interposed locks keep glibc's results and never deadlock: recursive,
  /// error-checking and robust mutexes, trylock loops, locks in signal handlers,
  /// fork while a lock is held and waited for, condition variables, rwlocks, semaphores.
  func testHazardousLockingKeepsItsResultsAndNeverDeadlocks() throws {
    let program = try fixture("lock_hazards")
    for hazard in ["recursive", "errorcheck", "robust", "trylock", "signal", "fork", "condition", "rwlock", "semaphore"] {
      // trace: every lock wait, however short, goes through the ring as a LOCK_WAIT.
      for mode in ["block", "mutex", "trace"] {
        let file = output("\(hazard).\(mode)" + (mode == "trace" ? ".json" : ".pb.gz"))
        let options = mode == "trace" ? ["--lock-wait-threshold", "1ns"] : []
        // timeout: a deadlock fails the test instead of hanging it.
        let run = try ProfHarness.run("/usr/bin/env", ["timeout", "60", ProfHarness.prof, mode, "-o", file] + options + ["--", program, hazard])
        XCTAssertEqual(run.status, 0, "\(hazard) under prof \(mode): \(run.stderr)")
        XCTAssertEqual(run.stdout, "ok \(hazard)\n", "\(hazard) under prof \(mode)")
        if mode == "trace" { continue }
        _ = try ProfHarness.pprof(["-top", file])
        if hazard != "trylock" {
          XCTAssertFalse(run.stderr.contains(" 0 waits that blocked"), "\(hazard) under prof \(mode) blocked: \(run.stderr)")
        }
      }
    }
  }

  func testFollowedChildrenWriteTheirOwnProfiles() throws {
    let program = try fixture("lock_hazards")
    let file = output("block.pb.gz")
    let run = try ProfHarness.prof(["block", "--follow-children", "--merge", "-o", file, "--", program, "fork"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let children = try FileManager.default.contentsOfDirectory(atPath: directory.path)
      .filter { $0.hasPrefix("block.") && $0 != "block.pb.gz" && $0 != "block.merged.pb.gz" }
    XCTAssertEqual(children.count, 1, "\(children)")
    let child = try ProfHarness.top(directory.appendingPathComponent(children[0]).path)
    XCTAssertGreaterThan(child.totalMs, 30, "the child's own 50 ms wait")
    let merged = try ProfHarness.pprof(["-tags", output("block.merged.pb.gz")]).stdout
    XCTAssertTrue(merged.contains("pid"), merged)
  }
}
