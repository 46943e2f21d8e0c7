import Foundation
import ProfTestSupport
import XCTest

/// `prof bench compare` as CI runs it: exit 0, 2 or 1.
final class CompareCommandTests: XCTestCase {
  let samples: [Double] = [1000, 1003, 997, 1010, 992, 1005, 999, 1001, 995, 1008]

  func write(_ text: String, _ name: String) throws -> String {
    let path = try ProfHarness.temporaryDirectory().appendingPathComponent(name).path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  func benchmarkFile(scale: Double, count: Int = 10) -> String {
    "goos: linux\ngoarch: amd64\npkg: demo\n"
      + samples.prefix(count).map {
        "BenchmarkDecode-2\t    1000\t\(String(format: "%10.0f", $0 * scale)) ns/op\t      64 B/op\t       2 allocs/op\n"
      }.joined()
  }

  func compare(_ old: String, _ new: String, _ extra: [String] = []) throws -> ProfHarness.Run {
    try ProfHarness.command([ProfHarness.prof, "bench", "compare", old, new] + extra)
  }

  func testTwentyPercentRegressionExits2() throws {
    let result = try compare(
      write(benchmarkFile(scale: 1), "old.txt"), write(benchmarkFile(scale: 1.2), "new.txt"))
    XCTAssertEqual(result.status, 2, result.stdout + result.stderr)
    XCTAssertTrue(result.stdout.contains("REGRESSION"))
    XCTAssertEqual(result.stderr, "", "10 samples a side: no warning")
  }

  func testIdenticalDistributionsExit0() throws {
    let old = try write(benchmarkFile(scale: 1), "old.txt")
    let result = try compare(old, old)
    XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
  }

  func testThresholdOption() throws {
    let old = try write(benchmarkFile(scale: 1), "old.txt")
    let new = try write(benchmarkFile(scale: 1.2), "new.txt")
    XCTAssertEqual(try compare(old, new, ["--threshold", "25%"]).status, 0)
    XCTAssertEqual(try compare(old, new, ["--threshold", "25", "--format", "json"]).status, 0)
  }

  func testMalformedFileExits1NamingFileAndLine() throws {
    let old = try write(benchmarkFile(scale: 1), "old.txt")
    let bad = try write("goos: linux\nBenchmarkDecode-2 1000 5\n", "bad.txt")
    let result = try compare(old, bad)
    XCTAssertEqual(result.status, 1)
    XCTAssertEqual(result.stderr, "prof bench: error: \(bad):2: missing units after 5\n")
    XCTAssertEqual(result.stdout, "")
  }

  func testMissingAndEmptyFilesExit1() throws {
    let old = try write(benchmarkFile(scale: 1), "old.txt")
    let missing = try compare(old, "/nonexistent/new.txt")
    XCTAssertEqual(missing.status, 1)
    XCTAssertEqual(missing.stderr, "prof bench: error: /nonexistent/new.txt: cannot read file: No such file or directory\n")
    let empty = try write("PASS\n", "empty.txt")
    XCTAssertEqual(try compare(old, empty).stderr, "prof bench: error: \(empty): no benchmark results\n")
  }

  func testNothingInCommonExits1() throws {
    let old = try write(benchmarkFile(scale: 1), "old.txt")
    let other = try write("BenchmarkEncode-2\t1000\t5 ns/op\n", "other.txt")
    let result = try compare(old, other)
    XCTAssertEqual(result.status, 1)
    XCTAssertEqual(
      result.stderr, "prof bench: error: no benchmark and metric appear in both \(old) and \(other)\n")
  }

  func testWarnsWhenASideHasFewerThanSixSamples() throws {
    let result = try compare(
      write(benchmarkFile(scale: 1, count: 3), "old.txt"),
      write(benchmarkFile(scale: 1.2, count: 3), "new.txt"))
    XCTAssertEqual(result.status, 0, "3 against 3 can never be significant")
    let lines = result.stderr.split(separator: "\n")
    XCTAssertEqual(lines.count, 2, result.stderr)
    for line in lines {
      XCTAssertTrue(line.hasPrefix("warning: "), result.stderr)
      XCTAssertTrue(line.contains("smallest possible p is 0.100"), result.stderr)
    }
  }

  /// Only benchmark executables may interpose malloc, never the prof CLI.
  func testProfDoesNotDefineMalloc() throws {
    let symbols = try ProfHarness.command(["nm", "-D", "--defined-only", ProfHarness.prof])
    XCTAssertEqual(symbols.status, 0, symbols.stderr)
    XCTAssertFalse(symbols.stdout.contains("prof_alloc_counter"), "prof links CAllocCounter")
    XCTAssertNil(try Regex(#"(?m) T (malloc|free)$"#).firstMatch(in: symbols.stdout))
  }

  /// Go's own `go test -bench -benchmem` output, generated now, is read too.
  func testReadsGoTestOutput() throws {
    let go = try ProfHarness.requireTool("go", package: "golang-go")
    let dir = try ProfHarness.temporaryDirectory()
    try "module example.com/gobench\n\ngo 1.19\n".write(
      to: dir.appendingPathComponent("go.mod"), atomically: true, encoding: .utf8)
    try """
      package gobench

      import "testing"

      type node struct{ v int }

      var sink *node

      func BenchmarkAlloc(b *testing.B) {
      \tfor i := 0; i < b.N; i++ {
      \t\tsink = &node{i}
      \t}
      }

      """.write(to: dir.appendingPathComponent("b_test.go"), atomically: true, encoding: .utf8)
    let goTest = try ProfHarness.command(
      [go, "test", "-bench", ".", "-benchmem", "-benchtime", "1000x", "-count", "6"], in: dir,
      environment: ["GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOCACHE": dir.appendingPathComponent("cache").path])
    XCTAssertEqual(goTest.status, 0, goTest.stderr)
    let path = try write(goTest.stdout, "go.txt")
    let result = try compare(path, path, ["--format", "markdown"])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(result.stdout.contains("| Alloc-"), result.stdout)
    XCTAssertTrue(result.stdout.contains("| allocs/op |"), result.stdout)
  }
}
