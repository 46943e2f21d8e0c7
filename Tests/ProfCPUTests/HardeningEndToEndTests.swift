import Foundation
import ProfTestSupport
import XCTest

/// Programs that do what real programs do to a profiler: fixtures in fixtures/hardening.
final class HardeningEndToEndTests: OutputDirectoryTestCase {
  private func fixture(_ name: String) throws -> String {
    try ProfHarness.cFixture("hardening", name, into: directory)
  }

  /// The number in "handled N" the fixture prints: SIGPROFs its own handler saw.
  private func ticksHandled(_ run: ProfHarness.Run) throws -> Int {
    let line = try XCTUnwrap(run.stdout.split(separator: "\n").first { $0.hasPrefix("handled ") }, run.stdout)
    return try XCTUnwrap(Int(line.dropFirst("handled ".count)))
  }

  func testAProgramsOwnSIGPROFHandlerIsReportedAndStillServed() throws {
    for installer in ["sigaction", "signal"] {
      let file = output("own-\(installer).pb.gz")
      let run = try ProfHarness.prof(["cpu", "-o", file, "--", fixture("own_handler"), installer])
      XCTAssertEqual(run.status, 0, run.stderr)
      XCTAssertTrue(run.stderr.contains("the program installed its own SIGPROF handler"), run.stderr)
      XCTAssertTrue(run.stderr.contains("--signal SIGRTMIN+3"), run.stderr)
      XCTAssertGreaterThan(try ticksHandled(run), 80, "its setitimer ticks (100 in 1 s) reach its handler")
      let work = try XCTUnwrap(try ProfHarness.top(file).rows.first { $0.name == "own_handler_work" })
      XCTAssertEqual(work.cum, 1000, accuracy: 150, "prof's own samples are not disturbed")
    }
  }

  func testAnotherSignalLeavesSIGPROFToTheProgram() throws {
    let file = output("rt.pb.gz")
    let run = try ProfHarness.prof(["cpu", "--signal", "SIGRTMIN+3", "-o", file, "--", fixture("own_handler")])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertFalse(run.stderr.contains("installed its own"), run.stderr)
    XCTAssertGreaterThan(try ticksHandled(run), 80)
    let work = try XCTUnwrap(try ProfHarness.top(file).rows.first { $0.name == "own_handler_work" })
    XCTAssertEqual(work.cum, 1000, accuracy: 150)
  }

  func testTraceWallModeSamplesWithAnotherSignal() throws {
    let file = output("wall.json")
    let profile = output("wall.pb.gz")
    let run = try ProfHarness.prof(["trace", "--mode", "wall", "--signal", "rtmax-2", "--pprof", profile, "-o", file,
                                    "--", fixture("own_handler")])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertFalse(run.stderr.contains("installed its own"), run.stderr)
    XCTAssertGreaterThan(try ticksHandled(run), 80)
    XCTAssertNotNil(try ProfHarness.top(profile).rows.first { $0.name == "own_handler_work" })
  }

  func testSignalsThatAreNotForSamplingAreRefused() throws {
    for signal in ["SIGKILL", "SIGSEGV", "9", "SIGRTMIN+99", "bogus"] {
      let run = try ProfHarness.prof(["cpu", "--signal", signal, "-o", output("x.pb.gz"), "--", "/bin/true"])
      XCTAssertNotEqual(run.status, 0, signal)
      XCTAssertTrue(run.stderr.contains("--signal"), run.stderr)
    }
  }

  func testThreadsBlockingTheSignalAreNamedWithTheSamplesTheyCost() throws {
    let file = output("blocked.pb.gz")
    let run = try ProfHarness.prof(["cpu", "-o", file, "--", fixture("blocked_threads")])
    XCTAssertEqual(run.status, 0, run.stderr)
    let line = try XCTUnwrap(run.stderr.split(separator: "\n").first { $0.contains("blocked SIGPROF") }, run.stderr)
    XCTAssertTrue(line.contains("2 threads blocked SIGPROF"), String(line))
    XCTAssertTrue(line.contains("blocker (tid ") && line.contains("holder (tid "), "one exited before the end, one did not: \(line)")
    let missed = try XCTUnwrap(line.range(of: "about ").flatMap { Int(line[$0.upperBound...].prefix { $0.isNumber }) })
    XCTAssertEqual(Double(missed), 100, accuracy: 20, "1 s of blocked CPU at 100 Hz: \(line)")
    let main = try XCTUnwrap(try ProfHarness.top(file).rows.first { $0.name == "main_work" })
    XCTAssertEqual(main.cum, 500, accuracy: 100, "unblocked threads are sampled as usual")
  }
}
