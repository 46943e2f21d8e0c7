import Foundation
import ProfTestSupport
import XCTest

/// --unwind hybrid is sound: with PROF_UNWIND_CHECK=1 the agent unwinds every sample
/// with libunwind too, and prof says how many stacks differed. Fixture:
/// fixtures/unwind (Swift, C built without frame pointers, libc's qsort calling
/// back into Swift, libswiftCore, Foundation).
final class HybridUnwindEndToEndTests: OutputDirectoryTestCase {
  private func program(_ flags: [String]) throws -> String {
    let fixtures = ProfHarness.packageRoot.appendingPathComponent("fixtures/unwind")
    let library = directory.appendingPathComponent("libno_frame_pointers.so").path
    let build = try ProfHarness.run("/usr/bin/env", [
      "clang", "-O2", "-fomit-frame-pointer", "-shared", "-fPIC", "-o", library,
      fixtures.appendingPathComponent("no_frame_pointers.c").path,
    ])
    XCTAssertEqual(build.status, 0, build.stderr)
    return try ProfHarness.swiftFixture("unwind", "mixed", into: directory, flags: flags + [
      "-L", directory.path, "-lno_frame_pointers", "-Xlinker", "-rpath", "-Xlinker", directory.path,
    ])
  }

  private struct Check {
    var mismatched, compared, framePointerFrames, frames: Int
  }

  /// The check's line: "unwind check: M of N hybrid stacks differed from libunwind's;
  /// F of their T frames from frame pointers".
  private func check(_ stderr: String) -> Check? {
    guard let line = stderr.split(separator: "\n").first(where: { $0.contains("unwind check: ") }) else { return nil }
    let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    guard numbers.count == 4 else { return nil }
    return Check(mismatched: numbers[0], compared: numbers[1], framePointerFrames: numbers[2], frames: numbers[3])
  }

  /// SwiftPM's flags (it adds -fno-omit-frame-pointer), swiftc -O's (no frame
  /// pointers in the program's own code), and a debug build.
  private static let builds = [["-O", "-Xcc", "-fno-omit-frame-pointer"], ["-O"], ["-Onone"]]

  func testEveryHybridStackIsLibunwindsInEveryBuild() throws {
    for flags in Self.builds {
      let build = flags.joined(separator: " ")
      let binary = try program(flags)
      let file = output("mixed\(flags.count)\(flags[0]).pb.gz")
      let run = try ProfHarness.prof(["cpu", "--unwind", "hybrid", "--hz", "1000", "-o", file, "--", binary, "300"],
                                     environment: ["PROF_UNWIND_CHECK": "1"])
      XCTAssertEqual(run.status, 0, run.stderr)
      let counts = try XCTUnwrap(check(run.stderr), "no unwind check line: \(run.stderr)")
      XCTAssertGreaterThan(counts.compared, 100, "\(build): too few samples to say")
      XCTAssertEqual(counts.mismatched, 0, "\(build): hybrid stacks differed from libunwind's")
      // Frames of the Swift runtime (and of the program, built as SwiftPM does) come from frame pointers.
      XCTAssertGreaterThan(counts.framePointerFrames * (flags.count == 3 ? 3 : 10), counts.frames, "\(build)")
      // The profile has every part of the workload, with its callers.
      let top = try ProfHarness.pprof(["-top", "-cum", "-nodecount=400", file]).stdout
      for part in ["no_fp_apply", "swiftCallback", "qsort", "inSwiftCore", "inFoundation", "main"] {
        XCTAssertTrue(top.contains(part), "\(build): \(part) missing:\n\(top)")
      }
    }
  }

  func testWithoutTheCheckNothingIsSaid() throws {
    let file = output("quiet.pb.gz")
    let run = try ProfHarness.prof(["cpu", "--unwind", "hybrid", "-o", file, "--", try program(["-O"]), "5"])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertNil(check(run.stderr), run.stderr)
  }
}
