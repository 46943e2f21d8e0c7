import BenchFormat
import XCTest

@testable import ProfBench

final class Node {
  var value: Int
  init(_ value: Int) { self.value = value }
}

final class BencherTests: XCTestCase {
  let runner = Runner(benchTime: .iterations(1000), procs: 2)

  private func sample(_ body: @escaping (Bencher) -> Void) throws -> BenchmarkResult {
    try runner.sample(RegisteredBenchmark(name: "T", body: body))
  }

  /// The counters count every thread of the process, as Go's do, and the test
  /// runner's own threads may allocate during a window: they can only add.
  /// The fewest allocations over a few samples is the body's own count.
  private func quietestSample(_ body: @escaping (Bencher) -> Void) throws -> BenchmarkResult {
    var quietest = try sample(body)
    for _ in 1..<5 {
      let next = try sample(body)
      if (next.value(of: "allocs/op") ?? 0) < (quietest.value(of: "allocs/op") ?? 0) { quietest = next }
    }
    return quietest
  }

  func testCountsExactlyThreeObjectsPerOp() throws {
    let result = try quietestSample { b in
      for i in 0..<b.n {
        blackHole(Node(i))
        blackHole(Node(i))
        blackHole(Node(i))
      }
    }
    XCTAssertEqual(result.value(of: "allocs/op"), 3)
    // Each Node is a 16-byte object header plus one Int.
    XCTAssertEqual(result.value(of: "B/op"), 72)
  }

  func testCountsNothingForANonAllocatingBody() throws {
    let result = try quietestSample { b in for i in 0..<b.n { blackHole(i) } }
    XCTAssertEqual(result.value(of: "allocs/op"), 0)
    XCTAssertEqual(result.value(of: "B/op"), 0)
  }

  func testStoppedTimerExcludesAllocations() throws {
    let result = try quietestSample { b in
      for i in 0..<b.n {
        b.stopTimer()
        blackHole(Node(i))
        b.startTimer()
        blackHole(Node(i))
      }
    }
    XCTAssertEqual(result.value(of: "allocs/op"), 1)
  }

  func testResetTimerForgetsSetup() throws {
    let result = try quietestSample { b in
      let setup = (0..<b.n).map { Node($0) }
      b.resetTimer()
      // Index instead of for-in: a debug build's array iterator allocates.
      for i in 0..<b.n { blackHole(setup[i]) }
    }
    XCTAssertEqual(result.value(of: "allocs/op"), 0)
  }

  func testStoppedTimerExcludesTime() throws {
    let result = try sample { b in
      b.stopTimer()
      usleep(50_000)
      b.startTimer()
    }
    // 50 ms outside the window over 1000 iterations would be 50 µs/op.
    XCTAssertLessThan(result.value(of: "ns/op") ?? 0, 1_000)
  }

  func testResultLineInGoFormat() {
    let round = Round(
      n: 1000, nanoseconds: 9_712_000, allocations: 3000, allocatedBytes: 72_000,
      bytesPerOperation: 1024, extraMetrics: ["widgets/op": 1.5, "B/op": 80])
    // MB/s = 1024 B * 1000 / 1e6 / 0.009712 s = 105.436...; B/op is overridden.
    XCTAssertEqual(
      GoFormatWriter.resultLine(round.result(name: "Decode/size=1k-2")),
      "BenchmarkDecode/size=1k-2\t    1000\t      9712 ns/op\t 105.44 MB/s"
        + "\t         1.500 widgets/op\t      80 B/op\t       3 allocs/op")
  }

  func testRegistryRewritesNamesAsGoDoes() {
    let first = Benchmark("Registry check") { _ in }
    let second = Benchmark("Registry check") { _ in }
    XCTAssertEqual(first.name, "Registry_check")
    XCTAssertEqual(second.name, "Registry_check#01")
  }
}
