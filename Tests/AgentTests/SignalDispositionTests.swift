import Foundation
import ProfTestSupport
import XCTest

/// The agent keeps signals it did not send, and deaths by signal, the program's own.
final class SignalDispositionTests: OutputDirectoryTestCase {
  private func fixture(_ name: String) throws -> String {
    try ProfHarness.cFixture("agent", name, into: directory)
  }

  func testAProgramsOwnITimerWithoutAHandlerKillsItUnderProfAsAlone() throws {
    let program = try fixture("own_itimer")
    let alone = try ProfHarness.run(program, [])
    XCTAssertEqual(alone.status, 128 + SIGPROF, "alone, SIGPROF's default ends it")
    for mode in [["cpu"], ["cpu", "--unwind", "fp"], ["heap"], ["trace", "--mode", "wall"]] {
      let file = output("itimer-\(mode.joined(separator: "-"))")
      let run = try ProfHarness.prof(mode + ["-o", file, "--", program])
      XCTAssertEqual(run.status, 128 + SIGPROF, "prof \(mode): \(run.stderr)")
    }
  }

  func testAProgramThatIgnoresSIGPROFStillIgnoresItUnderProf() throws {
    let program = try fixture("own_itimer")
    XCTAssertEqual(try ProfHarness.run(program, ["ignore"]).status, 0)
    let run = try ProfHarness.prof(["cpu", "-o", output("ignored.pb.gz"), "--", program, "ignore"])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertGreaterThan(try ProfHarness.top(output("ignored.pb.gz")).totalMs, 0)
  }

  /// What the agent recorded reaches prof when the program dies of a signal, in every mode.
  func testACrashFlushesWhatWasRecordedInEveryMode() throws {
    let program = try fixture("handler_then_crash")
    for mode in [["cpu"], ["trace"], ["trace", "--mode", "wall"]] {
      let run = try ProfHarness.prof(mode + ["-o", output("crash-\(mode.joined(separator: "-"))"), "--", program])
      XCTAssertEqual(run.status, 128 + SIGSEGV, "prof \(mode): \(run.stderr)")
      XCTAssertTrue(run.stderr.contains("the program installed its own SIGPROF handler"), "prof \(mode): \(run.stderr)")
    }
  }
}
