import Foundation
import ProfTestSupport
import XCTest

/// fixtures/hardening/fork_while_unwinding.c forks children while its threads are
/// unwound without pause. The agent's unwinding (libunwind) holds the loader's lock;
/// a fork in that moment used to leave each child's copy locked, and the child hung
/// in the fork handler, asking the loader for its modules. The fixture kills a child
/// stuck for 10 s and exits 3; `timeout` bounds prof itself, so a hang fails the test.
final class ForkWhileUnwindingEndToEndTests: OutputDirectoryTestCase {
  func testChildrenForkedWhileThreadsAreUnwoundNeitherHangNorLoseTheirProfiles() throws {
    let fixture = try ProfHarness.cFixture("hardening", "fork_while_unwinding", into: directory)
    let modes: [(name: String, options: [String])] = [
      ("heap", ["heap", "--sample-rate", "1"]),
      ("cpu", ["cpu", "--hz", "1000"]),
    ]
    for mode in modes {
      let file = output("\(mode.name).pb.gz")
      let run = try ProfHarness.run("/usr/bin/timeout", ["-s", "KILL", "120", ProfHarness.prof] + mode.options +
                                    ["--follow-children", "-o", file, "--", fixture])
      XCTAssertEqual(run.status, 0, "\(mode.name): \(run.stderr)")
      let forked = try XCTUnwrap(Int(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), run.stdout)
      let written = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        .filter { $0.hasPrefix("\(mode.name).") && $0.hasSuffix(".pb.gz") }
      XCTAssertEqual(written.count, forked + 1, "\(mode.name): one profile per process: \(written.sorted())")
      for name in written { _ = try ProfHarness.pprof(["-raw", output(name)]) }
    }
  }
}
