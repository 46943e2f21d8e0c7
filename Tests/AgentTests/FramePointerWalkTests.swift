import Foundation
import ProfTestSupport
import XCTest

/// --unwind fp: callers of PLT stubs and of functions at their entry or ret are kept, garbage past a frame without a frame
/// pointer is not recorded. Fixture: fixtures/agent/plt_calls.c.
final class FramePointerWalkTests: OutputDirectoryTestCase {
  private func program() throws -> String {
    let fixtures = ProfHarness.packageRoot.appendingPathComponent("fixtures/agent")
    let library = directory.appendingPathComponent("libplt_calls_lib.so").path
    let program = directory.appendingPathComponent("plt_calls").path
    for build in [
      ["clang", "-O2", "-fno-omit-frame-pointer", "-shared", "-fPIC", "-o", library,
       fixtures.appendingPathComponent("plt_calls_lib.c").path],
      ["clang", "-O2", "-fno-omit-frame-pointer", "-o", program, fixtures.appendingPathComponent("plt_calls.c").path,
       "-L", directory.path, "-lplt_calls_lib", "-Wl,-rpath,\(directory.path)"],
    ] {
      let run = try ProfHarness.run("/usr/bin/env", build)
      XCTAssertEqual(run.status, 0, run.stderr)
    }
    return program
  }

  /// Each sample's stack from `go tool pprof -traces`, leaf first. A block is
  /// "thread_comm: ..." and "tid: ..." labels, then "  605ms   leaf" and one
  /// caller per line.
  private func stacks(_ file: String) throws -> [[String]] {
    let text = try ProfHarness.pprof(["-traces", file]).stdout
    return text.components(separatedBy: "-----------+").dropFirst().map { block in
      block.split(separator: "\n").dropFirst().filter { !$0.contains(":  ") }.map { line in
        var fields = line.split(separator: " ")
        if let first = fields.first, first.last?.isLetter == true, first.first?.isNumber == true { fields.removeFirst() }
        return fields.joined(separator: " ")
      }
    }.filter { !$0.isEmpty }
  }

  func testASampleInAPLTStubKeepsItsCaller() throws {
    let binary = try program()
    var all: [[String]] = [], inStub: [[String]] = []
    // A one-instruction stub gets about 1% of the samples, and none in some runs of
    // 2 s: run again (at most four times) until one lands there.
    for attempt in 0..<4 where inStub.isEmpty {
      let file = output("plt\(attempt).pb.gz")
      let run = try ProfHarness.prof(["cpu", "--unwind", "fp", "--hz", "1000", "-o", file, "--", binary])
      XCTAssertEqual(run.status, 0, run.stderr)
      all = try stacks(file)
      // plt_calls_target is a leaf without a frame of its own; every other sample of
      // the loop is in the stub, whose caller is plt_calls_loop.
      inStub = all.filter { $0.contains("main") && $0.first != "plt_calls_target" && $0.first != "plt_calls_loop" }
    }
    XCTAssertFalse(inStub.isEmpty, "no sample landed in the PLT stub: \(all)")
    for stack in inStub {
      XCTAssertEqual(Array(stack.prefix(3)).dropFirst(), ["plt_calls_loop", "main"], "\(stack)")
    }
  }

  func testASampleAtAFunctionsEntryOrReturnKeepsItsCaller() throws {
    let file = output("framed.pb.gz")
    let run = try ProfHarness.prof(["cpu", "--unwind", "fp", "--hz", "1000", "-o", file, "--", try program(), "framed"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let leaf = try stacks(file).filter { $0.first == "framed_leaf" }
    XCTAssertFalse(leaf.isEmpty, "no sample in framed_leaf")
    for stack in leaf { XCTAssertEqual(Array(stack.prefix(3)), ["framed_leaf", "framed_loop", "main"], "\(stack)") }
  }

  func testAFrameOutsideTheModulesCodeIsNotRecorded() throws {
    let file = output("bogus.pb.gz")
    let run = try ProfHarness.prof(["cpu", "--unwind", "fp", "--hz", "1000", "-o", file, "--", try program(), "bogus"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let loop = try stacks(file).filter { $0.first == "bogus_frame_loop" }
    XCTAssertFalse(loop.isEmpty)
    for stack in loop { XCTAssertEqual(stack, ["bogus_frame_loop"], "the fake frame's 0x7fffffffffffffff was recorded") }
  }
}
