import Foundation
import ProfTestSupport
import XCTest

/// --unwind hybrid is sound: with PROF_UNWIND_CHECK=1 the agent unwinds every sample
/// with libunwind too, and prof says how many stacks differed. Fixture:
/// fixtures/unwind (Swift, C built without frame pointers, libc's qsort calling
/// back into Swift, libswiftCore, Foundation).
final class HybridUnwindEndToEndTests: OutputDirectoryTestCase {
  private func program(optimization: String) throws -> String {
    let fixtures = ProfHarness.packageRoot.appendingPathComponent("fixtures/unwind")
    let library = directory.appendingPathComponent("libno_frame_pointers.so").path
    let build = try ProfHarness.run("/usr/bin/env", [
      "clang", "-O2", "-fomit-frame-pointer", "-shared", "-fPIC", "-o", library,
      fixtures.appendingPathComponent("no_frame_pointers.c").path,
    ])
    XCTAssertEqual(build.status, 0, build.stderr)
    return try ProfHarness.swiftFixture("unwind", "mixed", into: directory, flags: [
      optimization, "-L", directory.path, "-lno_frame_pointers", "-Xlinker", "-rpath", "-Xlinker", directory.path,
    ])
  }

  /// The check's line: "unwind check: M of N hybrid stacks differed from libunwind's".
  private func checkCounts(_ stderr: String) -> (mismatched: Int, compared: Int)? {
    guard let line = stderr.split(separator: "\n").first(where: { $0.contains("unwind check: ") }) else { return nil }
    let words = line.split(separator: " ")
    guard let at = words.firstIndex(of: "check:"), words.count > at + 3,
          let mismatched = Int(words[at + 1]), let compared = Int(words[at + 3]) else { return nil }
    return (mismatched, compared)
  }

  func testEveryHybridStackIsLibunwindsInBothBuilds() throws {
    for optimization in ["-O", "-Onone"] {
      let binary = try program(optimization: optimization)
      let file = output("mixed\(optimization).pb.gz")
      let run = try ProfHarness.prof(["cpu", "--unwind", "hybrid", "--hz", "1000", "-o", file, "--", binary, "300"],
                                     environment: ["PROF_UNWIND_CHECK": "1"])
      XCTAssertEqual(run.status, 0, run.stderr)
      let counts = try XCTUnwrap(checkCounts(run.stderr), "no unwind check line: \(run.stderr)")
      XCTAssertGreaterThan(counts.compared, 100, "\(optimization): too few samples to say")
      XCTAssertEqual(counts.mismatched, 0, "\(optimization): hybrid stacks differed from libunwind's")
      // The profile has every part of the workload, with its callers.
      let top = try ProfHarness.pprof(["-top", "-cum", "-nodecount=400", file]).stdout
      for part in ["no_fp_apply", "swiftCallback", "qsort", "inSwiftCore", "inFoundation", "main"] {
        XCTAssertTrue(top.contains(part), "\(optimization): \(part) missing:\n\(top)")
      }
    }
  }

  func testWithoutTheCheckNothingIsSaid() throws {
    let file = output("quiet.pb.gz")
    let run = try ProfHarness.prof(["cpu", "--unwind", "hybrid", "-o", file, "--", try program(optimization: "-O"), "5"])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertNil(checkCounts(run.stderr), run.stderr)
  }
}
