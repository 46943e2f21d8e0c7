import XCTest

@testable import ProfBench

final class IterationTests: XCTestCase {
  func testParsesBenchTime() {
    XCTAssertEqual(BenchTime("1s"), .nanoseconds(1_000_000_000))
    XCTAssertEqual(BenchTime("500ms"), .nanoseconds(500_000_000))
    XCTAssertEqual(BenchTime("1.5us"), .nanoseconds(1_500))
    XCTAssertEqual(BenchTime("2m"), .nanoseconds(120_000_000_000))
    XCTAssertEqual(BenchTime("100x"), .iterations(100))
    for bad in ["", "x", "0x", "-1s", "1", "1parsec", "0s", "1e30s", "nans"] { XCTAssertNil(BenchTime(bad), bad) }
  }

  /// Go's sequence for a body costing 1 µs per iteration and a 1 s goal:
  /// 1, then min(1.2 * predicted, 100 * last): 100, 10 000, 1 000 000
  /// (1.2e6 predicted, capped at 100x), which lasts the full second.
  func testGrowsLikeGo() {
    XCTAssertEqual(iterationCounts(benchTime: .nanoseconds(1_000_000_000), nsPerOp: 1000),
      [1, 100, 10_000, 1_000_000])
  }

  func testPredictsWithHeadroom() {
    // 10 µs per iteration: 1, 100, 10 000 (capped at 100x), then
    // 1e9 * 10 000 / 1e8 * 1.2 = 120 000, which lasts 1.2 s.
    XCTAssertEqual(iterationCounts(benchTime: .nanoseconds(1_000_000_000), nsPerOp: 10_000),
      [1, 100, 10_000, 120_000])
  }

  func testStopsAtOneBillion() {
    XCTAssertEqual(iterationCounts(benchTime: .nanoseconds(1_000_000_000), nsPerOp: 0).last,
      1_000_000_000)
  }

  func testFixedCountRunsOnceThenTheCount() {
    XCTAssertEqual(iterationCounts(benchTime: .iterations(100), nsPerOp: 1000), [1, 100])
    XCTAssertEqual(iterationCounts(benchTime: .iterations(1), nsPerOp: 1000), [1])
  }

  func testPredictionBounds() {
    // At least one more than last; at most 100x last; never past 1e9.
    XCTAssertEqual(predictIterations(goalNanoseconds: 1, lastN: 5, lastNanoseconds: 10), 6)
    XCTAssertEqual(predictIterations(goalNanoseconds: 1_000_000_000, lastN: 7, lastNanoseconds: 0), 700)
    XCTAssertEqual(
      predictIterations(goalNanoseconds: 60_000_000_000, lastN: 900_000_000, lastNanoseconds: 1),
      1_000_000_000, "no overflow")
  }

  private func iterationCounts(benchTime: BenchTime, nsPerOp: UInt64) -> [Int] {
    var counts: [Int] = []
    _ = ProfBench.measure(benchTime: benchTime) { n in
      counts.append(n)
      return Round(n: n, nanoseconds: UInt64(n) * nsPerOp)
    }
    return counts
  }
}
