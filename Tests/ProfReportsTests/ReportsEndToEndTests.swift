import Foundation
import ProfTestSupport
import XCTest

/// The report commands run as a user runs them, on profiles written by Go itself
/// and by prof cpu, checked against go tool pprof on the same files.
final class ReportsEndToEndTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = try ProfHarness.temporaryDirectory()
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  /// cpu.pprof and mem.pprof from `go test` on a tiny program with a hot and a cold function.
  private func goProfiles() throws -> (cpu: String, mem: String) {
    guard (try? ProfHarness.run("/usr/bin/env", ["go", "version"]).status) == 0 else {
      throw XCTSkip("Go is not installed (Debian golang-go)")
    }
    try "module tiny\n\ngo 1.19\n".write(toFile: path("go.mod"), atomically: true, encoding: .utf8)
    try """
      package tiny

      import "testing"

      var sink [][]byte

      //go:noinline
      func hot(n int) int { s := 0; for i := 0; i < n; i++ { s += i * i % 7 }; return s }

      //go:noinline
      func cold(n int) int { return hot(n / 3) }

      //go:noinline
      func allocate(i int) { sink = append(sink, make([]byte, 1024+i)) }

      func TestWork(t *testing.T) {
      \ttotal := 0
      \tfor i := 0; i < 300; i++ { total += hot(1000000) + cold(1000000); allocate(i) }
      \tif total == 42 { t.Log(total) }
      }

      """.write(toFile: path("tiny_test.go"), atomically: true, encoding: .utf8)
    let environment = ["GOCACHE": path("gocache"), "GOPATH": path("gopath"), "GOFLAGS": "-mod=mod", "GOPROXY": "off"]
    let run = try ProfHarness.run("/bin/sh", ["-c", "cd \(directory.path) && go test -cpuprofile cpu.pprof -memprofile mem.pprof -memprofilerate 512 ."],
                                  environment: environment)
    XCTAssertEqual(run.status, 0, run.stderr + run.stdout)
    return (path("cpu.pprof"), path("mem.pprof"))
  }

  private func assertTopAgrees(_ file: String, _ options: [String] = [], pprofOptions: [String] = [],
                               line: UInt = #line) throws {
    let ours = try ProfHarness.prof(["top"] + options + [file])
    XCTAssertEqual(ours.status, 0, ours.stderr, line: line)
    let theirs = try ProfHarness.pprof(["-top"] + pprofOptions + [file])
    XCTAssertEqual(ours.stdout, theirs.stdout, line: line)
    XCTAssertGreaterThan(ours.stdout.split(separator: "\n").count, 6, "a real table", line: line)
  }

  func testTopAgreesWithPprofOnGoProfiles() throws {
    let (cpu, mem) = try goProfiles()
    try assertTopAgrees(cpu)
    XCTAssertTrue(try ProfHarness.prof(["top", cpu]).stdout.contains("tiny.hot"))
    try assertTopAgrees(cpu, ["--cum", "-n", "5"], pprofOptions: ["-cum", "-nodecount=5"])
    try assertTopAgrees(mem)
    // go test writes the "allocs" profile: a heap profile whose default_sample_type is alloc_space.
    XCTAssertTrue(try ProfHarness.prof(["top", mem]).stdout.contains("Type: alloc_space"))
    try assertTopAgrees(mem, ["--sample-index", "inuse_space"], pprofOptions: ["-sample_index=inuse_space"])
    try assertTopAgrees(mem, ["--sample-index", "alloc_objects"], pprofOptions: ["-sample_index=alloc_objects"])
    try assertTopAgrees(cpu, ["--focus", "cold"], pprofOptions: ["-focus=cold"])
    try assertTopAgrees(cpu, ["--ignore", "cold"], pprofOptions: ["-ignore=cold"])
  }

  func testTopAgreesWithPprofOnProfCPUProfiles() throws {
    let file = path("spin.pb.gz")
    let run = try ProfHarness.prof(["cpu", "-o", file, "--", ProfHarness.workload("spin"), "1"])
    XCTAssertEqual(run.status, 0, run.stderr)
    try assertTopAgrees(file)
    XCTAssertTrue(try ProfHarness.prof(["top", file]).stdout.contains("spin.hotLoop(Swift.Int)"))
  }

  private func assertListAgrees(_ pattern: String, _ file: String, line: UInt = #line) throws {
    let ours = try ProfHarness.prof(["list", pattern, file])
    XCTAssertEqual(ours.status, 0, ours.stderr, line: line)
    XCTAssertEqual(ours.stdout, try ProfHarness.pprof(["-list", pattern, file]).stdout, pattern, line: line)
    XCTAssertTrue(ours.stdout.contains("ROUTINE"), line: line)
  }

  /// A stripped C program's code has no symbols: one `[split]` row, as go tool pprof groups it.
  func testTopAgreesWithPprofOnAStrippedCProgram() throws {
    let binary = try ProfHarness.cFixture("cpu", "split", into: directory, flags: ["-O1"])
    XCTAssertEqual(try ProfHarness.run("/usr/bin/env", ["strip", binary]).status, 0)
    let cpu = path("split.pb.gz"), heap = path("split-heap.pb.gz")
    XCTAssertEqual(try ProfHarness.prof(["cpu", "-o", cpu, "--", binary, "50"]).status, 0)
    try assertTopAgrees(cpu)
    XCTAssertTrue(try ProfHarness.prof(["top", cpu]).stdout.contains("  [split]\n"))
    try assertListAgrees("__libc_start", cpu)
    // ls is stripped too; its heap profile mixes unsymbolized code and libc.
    XCTAssertEqual(try ProfHarness.prof(["heap", "-o", heap, "--", "/bin/ls", "/"]).status, 0)
    for index in ["inuse_space", "inuse_objects", "alloc_space", "alloc_objects"] {
      try assertTopAgrees(heap, ["--sample-index", index], pprofOptions: ["-sample_index=" + index])
    }
  }

  func testTopAndListAgreeWithPprofOnASwiftProgram() throws {
    let cpu = path("demo.pb.gz"), heap = path("churn.pb.gz")
    XCTAssertEqual(try ProfHarness.prof(["cpu", "-o", cpu, "--", ProfHarness.workload("demo"), "200", "1"]).status, 0)
    try assertTopAgrees(cpu)
    try assertTopAgrees(cpu, ["--cum"], pprofOptions: ["-cum"])
    for count in ["3", "8", "20"] {  // inline marks of the rows shown only, as pprof trims its graph
      try assertTopAgrees(cpu, ["-n", count], pprofOptions: ["-nodecount=" + count])
    }
    try assertListAgrees("demo\\.", cpu)
    try assertListAgrees(".", cpu)
    XCTAssertEqual(try ProfHarness.prof(["heap", "-o", heap, "--", ProfHarness.workload("heap-churn")]).status, 0)
    for index in ["inuse_space", "alloc_objects"] {
      try assertTopAgrees(heap, ["--sample-index", index], pprofOptions: ["-sample_index=" + index])
    }
    try assertListAgrees("heap_churn", heap)
  }

  func testListShowsSourceLinesOfGoFunctions() throws {
    let (cpu, _) = try goProfiles()
    let run = try ProfHarness.prof(["list", "^tiny\\.hot$", cpu])
    XCTAssertEqual(run.status, 0, run.stderr)
    let pprof = try ProfHarness.pprof(["-list", "^tiny\\.hot$", cpu]).stdout
    XCTAssertEqual(run.stdout, pprof)
    XCTAssertTrue(run.stdout.contains("func hot(n int) int {"), run.stdout)
  }

  func testFlameGraphOfAGoProfileIsWellFormedSVG() throws {
    let (cpu, _) = try goProfiles()
    let svg = path("flame.svg")
    let run = try ProfHarness.prof(["flame", cpu, "-o", svg, "--by-thread"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let text = try String(contentsOfFile: svg, encoding: .utf8)
    XCTAssertTrue(text.contains("thread (no thread label)"), "Go profiles have no thread_comm label")
    XCTAssertTrue(text.contains(">tiny.hot<"))
    let check = try ProfHarness.run("/usr/bin/env", ["python3", "-c", "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])", svg])
    XCTAssertEqual(check.status, 0, check.stderr)
  }

  func testFoldedRoundTripKeepsPprofsTotals() throws {
    let (cpu, _) = try goProfiles()
    let folded = try ProfHarness.prof(["convert", cpu, "--to", "folded"])
    XCTAssertEqual(folded.status, 0, folded.stderr)
    let foldedFile = path("cpu.folded"), back = path("back.pb.gz")
    try folded.stdout.write(toFile: foldedFile, atomically: true, encoding: .utf8)
    XCTAssertEqual(try ProfHarness.prof(["convert", foldedFile, "--to", "pprof", "-o", back]).status, 0)
    let samples = folded.stdout.split(separator: "\n").map { Int($0.split(separator: " ").last!)! }.reduce(0, +)
    let total = try ProfHarness.pprof(["-top", "-sample_index=samples", cpu]).stdout
    XCTAssertTrue(total.contains("of \(samples) total"), "folded counts add up to pprof's sample count:\n\(total)")
    XCTAssertTrue(try ProfHarness.pprof(["-top", back]).stdout.contains("of \(samples) total"))
  }

  func testBadInputIsOneLineNamingTheFile() throws {
    let (cpu, _) = try goProfiles()
    let bytes = try Data(contentsOf: URL(fileURLWithPath: cpu))
    let truncated = path("truncated.pb.gz"), text = path("notes.txt")
    try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
    try "just some notes\n".write(toFile: text, atomically: true, encoding: .utf8)
    let cases = [
      (truncated, "Error: \(truncated): truncated profile: gzip stream ends early\n"),
      (text, "Error: \(text): not a pprof profile: neither gzip-compressed nor a profile.proto message (field of 117 bytes at byte 2, 14 left)\n"),
      (path("missing.pb.gz"), "Error: cannot read \(path("missing.pb.gz")): No such file or directory\n"),
    ]
    for (file, message) in cases {
      for command in [["top"], ["flame", "-o", path("x.svg")], ["list", "."], ["convert", "--to", "speedscope"]] {
        let run = try ProfHarness.prof(command + [file])
        XCTAssertEqual(run.status, 1, "\(command) \(file)")
        if command != ["convert", "--to", "speedscope"] || file != text {
          XCTAssertEqual(run.stderr, message, "\(command)")
        }
        XCTAssertEqual(run.stdout, "")
      }
    }
  }
}
