import Foundation
import ProfTestSupport
import XCTest

/// Heap mode counts from the process's first malloc, whatever the constructor order.
final class EarlyAllocationTests: OutputDirectoryTestCase {
  private func total(_ file: String, _ sampleIndex: String) throws -> Int {
    let top = try ProfHarness.pprof(["-top", "-sample_index=\(sampleIndex)", "-unit=B", file]).stdout
    let match = try XCTUnwrap(top.firstMatch(of: try Regex(#"Total samples = (\d+)"#)), top)
    return try XCTUnwrap(Int(match.output[1].substring!))
  }

  func testAllocationsInALibrarysConstructorBeforeTheAgentsAreCounted() throws {
    let fixtures = ProfHarness.packageRoot.appendingPathComponent("fixtures/agent")
    let library = directory.appendingPathComponent("libctor_alloc_lib.so").path
    let program = directory.appendingPathComponent("ctor_alloc").path
    for build in [
      ["clang", "-shared", "-fPIC", "-O0", "-o", library, fixtures.appendingPathComponent("ctor_alloc_lib.c").path],
      ["clang", "-O0", "-o", program, fixtures.appendingPathComponent("ctor_alloc.c").path,
       "-L", directory.path, "-lctor_alloc_lib", "-Wl,-rpath,\(directory.path)"],
    ] {
      let run = try ProfHarness.run("/usr/bin/env", build)
      XCTAssertEqual(run.status, 0, run.stderr)
    }
    let file = output("ctor.pb.gz")
    let run = try ProfHarness.prof(["heap", "--sample-rate", "1", "-o", file, "--", program])
    XCTAssertEqual(run.status, 0, run.stderr)
    // The fixture's own count: "allocations N bytes B".
    let own = try XCTUnwrap(run.stdout.firstMatch(of: try Regex(#"allocations (\d+) bytes (\d+)"#)), run.stdout)
    let allocations = try XCTUnwrap(Int(own.output[1].substring!)), bytes = try XCTUnwrap(Int(own.output[2].substring!))
    XCTAssertTrue(run.stderr.contains("prof: \(allocations) allocations, \(allocations - 10) frees"), run.stderr)
    XCTAssertEqual(try total(file, "alloc_objects"), allocations)
    XCTAssertEqual(try total(file, "alloc_space"), bytes)
    XCTAssertEqual(try total(file, "inuse_objects"), 10, "the constructor's blocks still live at exit")
    XCTAssertTrue(try ProfHarness.pprof(["-top", "-sample_index=inuse_objects", file]).stdout.contains("ctor_alloc_lib_start"))
  }
}
