import Foundation
import ProfTestSupport
import XCTest

/// The persistent symbol cache as users meet it: in their own XDG_CACHE_HOME
/// (here a fresh directory per test), off with --no-symbol-cache, and never
/// changing what a profile says.
final class SymbolCacheEndToEndTests: OutputDirectoryTestCase {
  private var cacheHome: String { output("cache-home") }
  private var symbols: String { cacheHome + "/prof/symbols" }

  private func prof(_ arguments: [String]) throws {
    let run = try ProfHarness.prof(arguments, environment: ["XDG_CACHE_HOME": cacheHome])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertFalse(run.stderr.contains("symboliz"), run.stderr)
  }

  /// Every line of `go tool pprof -traces`, sorted, without the header (times, file name).
  private func traces(_ file: String) throws -> [String] {
    let run = try ProfHarness.pprof(["-traces", "-sample_index=alloc_space", file])
    XCTAssertEqual(run.status, 0, run.stderr)
    return run.stdout.split(separator: "\n").map(String.init).drop { !$0.hasPrefix("---") }.sorted()
  }

  func testWarmHeapProfileIsTheColdOneAndNoSymbolCacheWritesNothing() throws {
    let program = try ProfHarness.workload("heap-leak")
    let arguments = ["--sample-rate", "1", "--", program, "300", "1000"]
    try prof(["heap", "--no-symbol-cache", "-o", output("cold.pb.gz")] + arguments)
    XCTAssertFalse(FileManager.default.fileExists(atPath: cacheHome), "--no-symbol-cache neither reads nor writes")
    try prof(["trace", "--no-symbol-cache", "-o", output("trace.json"), "--", program, "10", "10"])
    try prof(["cpu", "--no-symbol-cache", "-o", output("cpu.pb.gz"), "--", program, "10", "10"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: cacheHome))

    try prof(["heap", "-o", output("filling.pb.gz")] + arguments)
    let entries = try FileManager.default.contentsOfDirectory(atPath: symbols)
    XCTAssertGreaterThanOrEqual(entries.count, 2, "the program and libswiftCore at least: \(entries)")
    XCTAssertTrue(entries.allSatisfy { $0.count >= 32 && $0.allSatisfy(\.isHexDigit) }, "named by build ID: \(entries)")
    try prof(["heap", "-o", output("warm.pb.gz")] + arguments)

    let cold = try traces(output("cold.pb.gz"))
    XCTAssertTrue(cold.contains { $0.contains("heap_leak.leakBlocks") }, cold.joined(separator: "\n"))
    XCTAssertEqual(try traces(output("filling.pb.gz")), cold)
    XCTAssertEqual(try traces(output("warm.pb.gz")), cold)
  }

  func testADamagedCacheIsRecomputed() throws {
    let program = try ProfHarness.workload("heap-leak")
    let arguments = ["--sample-rate", "1", "--", program, "300", "1000"]
    try prof(["heap", "-o", output("filling.pb.gz")] + arguments)
    for entry in try FileManager.default.contentsOfDirectory(atPath: symbols) {
      let path = symbols + "/" + entry
      let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
      try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
    }
    try prof(["heap", "-o", output("damaged.pb.gz")] + arguments)
    XCTAssertEqual(try traces(output("damaged.pb.gz")), try traces(output("filling.pb.gz")))
  }
}
