import BenchFormat
import Foundation
import ProfTestSupport
import XCTest

/// Builds fixtures/BenchExamples (which depends on this package by path) in
/// release mode with `prof bench run`, and checks what it prints.
final class FixtureTests: XCTestCase {
  /// One run shared by the tests of this class: the release build takes ~20 s.
  nonisolated(unsafe) static var baseline: (text: String, file: BenchmarkFile, json: BenchmarkFile)?

  func baseline() throws -> (text: String, file: BenchmarkFile, json: BenchmarkFile) {
    if let baseline = Self.baseline { return baseline }
    let dir = try ProfHarness.temporaryDirectory()
    let output = dir.appendingPathComponent("base.txt").path
    let json = dir.appendingPathComponent("base.json").path
    let result = try ProfHarness.command([
      ProfHarness.prof, "bench", "run", "ExampleBenchmarks",
      "--package-path", ProfHarness.packageRoot.appendingPathComponent("fixtures/BenchExamples").path,
      "-o", output, "--",
      "--benchtime", "2000x", "--count", "6", "--filter", "^(Alloc|StringBuilder)/", "--json", json,
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    let text = try String(contentsOfFile: output, encoding: .utf8)
    XCTAssertEqual(text, result.stdout, "the saved file is what the benchmark printed")
    let loaded = (text, try GoFormatParser.load(path: output), try GoFormatParser.load(path: json))
    Self.baseline = loaded
    return loaded
  }

  func testResultsThatCannotBeWrittenFailTheRun() throws {
    _ = try baseline()  // builds the benchmark executable
    let executable = ProfHarness.packageRoot.appendingPathComponent("fixtures/BenchExamples/.build/release/ExampleBenchmarks").path
    let result = try ProfHarness.command(["/bin/sh", "-c", "exec \"$0\" \"$@\" >/dev/full", executable,
                                 "--benchtime", "10x", "--count", "1", "--filter", "^Alloc/"])
    XCTAssertEqual(result.status, 1, "results lost are not a pass: \(result.stderr)")
    XCTAssertTrue(result.stderr.contains("cannot write to standard output: No space left on device"), result.stderr)
  }

  func testAllocsPerOpAreExact() throws {
    let results = try baseline().file.results
    func allocs(_ name: String) -> Set<Double> {
      Set(results.filter { $0.name.hasPrefix(name + "-") }.compactMap { $0.value(of: "allocs/op") })
    }
    XCTAssertEqual(allocs("Alloc/objects=3"), [3])
    XCTAssertEqual(allocs("Alloc/objects=0"), [0])
    // reserveCapacity removes the regrowth allocations.
    XCTAssertLessThan(allocs("StringBuilder/reserve=true").min()!, allocs("StringBuilder/reserve=false").min()!)
  }

  func testOutputFollowsGoFormat() throws {
    let (text, file, json) = try baseline()
    let lines = text.split(separator: "\n").map(String.init)
    XCTAssertEqual(Array(lines.prefix(3)), ["goos: linux", "goarch: amd64", "pkg: ExampleBenchmarks"])
    XCTAssertTrue(lines[3].hasPrefix("cpu: "))
    let procs = ProcessInfo.processInfo.activeProcessorCount
    // Name-<procs>, tab, %8d N, then tab-separated "value unit" pairs (Go's widths).
    let resultLine = try Regex(
      #"^Benchmark[^\s]+-\#(procs) *\t {4}2000(\t +[0-9]+(\.[0-9]+)? ns/op)\t +[0-9]+ B/op\t +[0-9]+ allocs/op$"#)
    let results = lines.dropFirst(4)
    XCTAssertEqual(results.count, 4 * 6, "4 benchmarks, --count 6")
    for line in results { XCTAssertNotNil(try resultLine.wholeMatch(in: line), line) }
    // --json holds the same samples at full precision; the text is rounded.
    XCTAssertEqual(
      json.results.map { GoFormatWriter.resultLine($0) }, file.results.map { GoFormatWriter.resultLine($0) })
    XCTAssertEqual(json.config, file.config)
  }

  /// benchcmp (golang.org/x/tools) is a Go tool that reads this format.
  func testGoToolReadsOurOutput() throws {
    let benchcmp = try ProfHarness.requireTool("benchcmp", package: "golang-golang-x-tools")
    let dir = try ProfHarness.temporaryDirectory()
    let path = dir.appendingPathComponent("ours.txt")
    try baseline().text.write(to: path, atomically: true, encoding: .utf8)
    let result = try ProfHarness.command([benchcmp, "-best", path.path, path.path])
    XCTAssertEqual(result.status, 0, result.stderr)
    for name in ["Alloc/objects=3", "Alloc/objects=0", "StringBuilder/reserve=true"] {
      XCTAssertTrue(result.stdout.contains("Benchmark\(name)-"), result.stdout)
    }
    XCTAssertTrue(result.stdout.contains("allocs"), "benchcmp read the allocation columns")
  }

  func testCompareAgainstItselfPasses() throws {
    let dir = try ProfHarness.temporaryDirectory()
    let text = dir.appendingPathComponent("base.txt").path
    let json = dir.appendingPathComponent("base.json").path
    try baseline().text.write(toFile: text, atomically: true, encoding: .utf8)
    try JSONFormat.encode(baseline().json).write(to: URL(fileURLWithPath: json))
    let result = try ProfHarness.command([ProfHarness.prof, "bench", "compare", json, text])
    XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
    XCTAssertTrue(result.stdout.contains("No regressions"))
  }
}
