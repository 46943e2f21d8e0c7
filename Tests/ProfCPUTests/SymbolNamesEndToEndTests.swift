import Foundation
import ProfTestSupport
import XCTest

/// Names of code that line tables do not cover, profiled with the real prof and
/// read with go tool pprof: PLT stubs, stripped binaries; and what prof says of code
/// a frame-pointer walk cannot follow.
final class SymbolNamesEndToEndTests: OutputDirectoryTestCase {
  /// fixtures/symbols/plt_calls.c linked against its shared library, built here.
  private func pltProgram(flags: [String] = []) throws -> String {
    let fixtures = ProfHarness.packageRoot.appendingPathComponent("fixtures/symbols")
    let library = output("libplt.so"), program = output("plt_calls")
    for arguments in [["-fPIC", "-shared", "-o", library, fixtures.appendingPathComponent("plt_lib.c").path],
                      ["-o", program, fixtures.appendingPathComponent("plt_calls.c").path, library,
                       "-Wl,-rpath," + directory.path]] {
      let build = try ProfHarness.run("/usr/bin/env", ["clang", "-O1", "-g"] + flags + arguments)
      guard build.status == 0 else { throw HarnessError("clang failed:\n\(build.stderr)") }
    }
    return program
  }

  func testSamplesInPLTStubsAreNamedAfterTheirTarget() throws {
    let file = output("plt.pb.gz")
    let run = try ProfHarness.prof(["cpu", "--hz", "1000", "-o", file, "--", try pltProgram(), "400000000"])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertEqual(try ProfHarness.run("/usr/bin/env", ["go", "tool", "pprof", "-raw", file]).status, 0)
    let names = try ProfHarness.top(file).rows.map(\.name)
    XCTAssertTrue(names.contains("plt_step@plt"), "\(names)")
    XCTAssertTrue(names.contains("plt_step"), "\(names)")
    XCTAssertFalse(names.contains("_init"), "\(names)")
  }

  /// Code without line tables (most of libswiftCore) gets no file: llvm-symbolizer's
  /// fallback, the symbol table's file symbol (crtstuff.c, Swift.o), is not a source.
  func testFilesComeOnlyFromDebugInfo() throws {
    let file = output("demo.pb.gz")
    let run = try ProfHarness.prof(["cpu", "-o", file, "--", ProfHarness.workload("demo"), "100", "1"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let files = try ProfHarness.top(file, ["-files"]).rows.map(\.name)
    XCTAssertTrue(files.contains { $0.hasSuffix("Sources/demo/main.swift") }, "\(files)")
    XCTAssertTrue(files.contains("[libswiftCore.so]"), "libswiftCore has no line tables: \(files)")
    XCTAssertFalse(files.contains { $0.hasSuffix("crtstuff.c") || $0.hasSuffix(".o") }, "\(files)")
    let names = try ProfHarness.top(file).rows.map(\.name)
    XCTAssertFalse(names.contains("_init"), "PLT stubs of a Swift program: \(names)")
    XCTAssertFalse(names.contains { $0.hasPrefix("$s") }, "PLT stub targets are demangled: \(names)")
  }

  /// A stripped program: what .dynsym covers keeps its name, the rest is one row
  /// named after the program, as go tool pprof shows code without symbols.
  func testStrippedCodeIsNamedFromDynsymElseAfterItsModule() throws {
    let source = ProfHarness.packageRoot.appendingPathComponent("fixtures/symbols/stripped.c").path
    let program = output("stripped")
    let build = try ProfHarness.run("/usr/bin/env", ["clang", "-O1", "-o", program, source,
                                                     "-Wl,--export-dynamic-symbol=exported_hot"])
    XCTAssertEqual(build.status, 0, build.stderr)
    XCTAssertEqual(try ProfHarness.run("/usr/bin/env", ["strip", program]).status, 0)
    let file = output("stripped.pb.gz")
    let run = try ProfHarness.prof(["cpu", "--hz", "500", "-o", file, "--", program, "100000000"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let rows = try ProfHarness.top(file).rows
    let names = rows.map(\.name)
    XCTAssertTrue(names.contains("exported_hot"), "\(names)")
    let module = try XCTUnwrap(rows.first { $0.name == "[stripped]" }, "hidden_hot and main: \(names)")
    XCTAssertGreaterThan(module.flat, 0)
    XCTAssertFalse(names.contains { $0.hasPrefix("0x") || $0.allSatisfy(\.isHexDigit) }, "no per-address rows: \(names)")
  }

  /// Said once, only under --unwind fp, only for code built without frame pointers.
  func testCodeWithoutFramePointersIsNamedUnderUnwindFP() throws {
    let source = ProfHarness.packageRoot.appendingPathComponent("fixtures/symbols/no_frame_pointers.c").path
    func profile(_ name: String, _ flag: String, unwind: String) throws -> String {
      let program = output(name)
      let build = try ProfHarness.run("/usr/bin/env", ["clang", "-O2", flag, "-o", program, source])
      XCTAssertEqual(build.status, 0, build.stderr)
      let run = try ProfHarness.prof(["cpu", "--unwind", unwind, "-o", output(name + ".pb.gz"), "--", program, "300000000"])
      XCTAssertEqual(run.status, 0, run.stderr)
      return run.stderr
    }
    let warning = "most stacks in nofp end at their first frame"
    let stderr = try profile("nofp", "-fomit-frame-pointer", unwind: "fp")
    XCTAssertEqual(stderr.components(separatedBy: warning).count, 2, "once:\n\(stderr)")
    XCTAssertTrue(stderr.contains("--unwind libunwind"), stderr)
    XCTAssertFalse(try profile("nofp", "-fomit-frame-pointer", unwind: "libunwind").contains(warning))
    XCTAssertFalse(try profile("fp", "-fno-omit-frame-pointer", unwind: "fp").contains("end at their first frame"))
  }
}
