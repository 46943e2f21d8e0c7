import XCTest

@testable import BenchStats

final class SummaryTests: XCTestCase {
  // Coverage 1 - 2 P(B <= k-1), B ~ Binomial(n, 1/2), from
  //   python3 -c 'import scipy.stats as st; b = st.binom(N, .5); print(1 - 2 * b.cdf(K - 1))'
  // n=6: k=1 0.96875, k=2 0.78125; n=10: k=2 0.978515625, k=3 0.890625;
  // n=20: k=6 0.9586105346679688, k=7 0.8846817016601562; n=5: k=1 0.9375.
  func testMedianCIRanksFromBinomial() {
    XCTAssertNil(Summary.medianCIRanks(n: 5, confidence: 0.95))
    XCTAssertTrue(Summary.medianCIRanks(n: 6, confidence: 0.95)! == (1, 6))
    XCTAssertTrue(Summary.medianCIRanks(n: 10, confidence: 0.95)! == (2, 9))
    XCTAssertTrue(Summary.medianCIRanks(n: 20, confidence: 0.95)! == (6, 15))
    XCTAssertTrue(Summary.medianCIRanks(n: 10, confidence: 0.89)! == (3, 8))
  }

  func testSummaryOfTenSamples() {
    let s = Summary([10, 1, 9, 2, 8, 3, 7, 4, 6, 5])
    XCTAssertEqual(s.median, 5.5)
    XCTAssertEqual(s.low, 2)
    XCTAssertEqual(s.high, 9)
    XCTAssertEqual(s.count, 10)
  }

  func testSmallSampleHasNoInterval() {
    let s = Summary([3, 1, 2])
    XCTAssertEqual(s.median, 2)
    XCTAssertNil(s.low)
    XCTAssertNil(s.high)
  }

  func testHolmBonferroni() {
    // By hand: sorted 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06,
    // 0.04*1 = 0.04 raised to the running maximum 0.06.
    let adjusted = holmAdjusted([0.01, 0.04, 0.03, 0.005])
    for (a, e) in zip(adjusted, [0.03, 0.06, 0.06, 0.02]) { XCTAssertEqual(a, e, accuracy: 1e-12) }
    XCTAssertEqual(holmAdjusted([0.5, 0.9]), [1, 1], "capped at 1")
  }

  func testGeometricMean() {
    XCTAssertEqual(geometricMean([1, 4, 16])!, 4, accuracy: 1e-12)
    XCTAssertNil(geometricMean([1, 0]))
    XCTAssertNil(geometricMean([]))
  }
}
