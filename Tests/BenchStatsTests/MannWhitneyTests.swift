import XCTest

@testable import BenchStats

/// Expected values are from SciPy 1.17.1, computed once with
///   python3 -c 'import scipy.stats as st; print(st.mannwhitneyu(X, Y,
///     alternative="two-sided", method=METHOD))'
/// for the X, Y and METHOD of each case (statistic is U of X).
final class MannWhitneyTests: XCTestCase {
  func testExactSmallSamples() {
    // method="exact": statistic=17.0, pvalue=0.1111111111111111
    let r = MannWhitney.test([19, 22, 16, 29, 24], [20, 11, 17, 12])
    XCTAssertEqual(r.method, .exact)
    XCTAssertEqual(r.u, 17)
    XCTAssertEqual(r.p, 0.1111111111111111, accuracy: 1e-12)
  }

  func testExactSmallestPossibleP() {
    // method="exact": [1,2,3] vs [4,5,6] -> statistic=0.0, pvalue=0.1, so
    // three samples a side can never reach p <= 0.05.
    XCTAssertEqual(MannWhitney.test([1, 2, 3], [4, 5, 6]).p, 0.1, accuracy: 1e-12)
    // method="exact": 1...10 vs 11...20 -> pvalue=1.082508822446903e-05
    let r = MannWhitney.test((1...10).map(Double.init), (11...20).map(Double.init))
    XCTAssertEqual(r.u, 0)
    XCTAssertEqual(r.p, 1.082508822446903e-05, accuracy: 1e-15)
  }

  func testExactTenASide() {
    // method="exact": statistic=74.0, pvalue=0.07525601333650869
    let x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30, 2.01]
    let y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.07, 3.14, 1.28, 0.99]
    let r = MannWhitney.test(x, y)
    XCTAssertEqual(r.method, .exact)
    XCTAssertEqual(r.u, 74)
    XCTAssertEqual(r.p, 0.07525601333650869, accuracy: 1e-12)
  }

  func testNormalApproximationWithTies() {
    // method="asymptotic" (continuity correction): statistic=74.0, pvalue=0.07544160545694574
    let x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30, 2.01]
    let y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29, 0.99]
    let r = MannWhitney.test(x, y)
    XCTAssertEqual(r.method, .normal, "ties force the normal approximation")
    XCTAssertEqual(r.p, 0.07544160545694574, accuracy: 1e-12)
    // method="asymptotic": statistic=7.5, pvalue=0.006373133838085873
    let heavyTies = MannWhitney.test([1, 2, 2, 3, 3, 3, 4, 5], [3, 4, 4, 5, 5, 6, 7, 7, 8])
    XCTAssertEqual(heavyTies.u, 7.5)
    XCTAssertEqual(heavyTies.p, 0.006373133838085873, accuracy: 1e-12)
  }

  func testConstantSidesThatDiffer() {
    // method="asymptotic": [100]*10 vs [110]*10 -> pvalue=1.5937911688066244e-05
    let r = MannWhitney.test(Array(repeating: 100, count: 10), Array(repeating: 110, count: 10))
    XCTAssertEqual(r.p, 1.5937911688066244e-05, accuracy: 1e-15)
  }

  func testAllValuesEqualIsNotSignificant() {
    XCTAssertEqual(MannWhitney.test([5, 5, 5, 5], [5, 5, 5, 5, 5]).p, 1)
  }

  func testLargeSamples() {
    // x = 0..<60, y = x + 20.5:
    // method="exact": pvalue=2.8357974783559977e-08
    // method="asymptotic": pvalue=8.747567722893498e-08
    let x = (0..<60).map(Double.init)
    let y = x.map { $0 + 20.5 }
    let auto = MannWhitney.test(x, y)
    XCTAssertEqual(auto.method, .normal, "60 > exactLimit")
    XCTAssertEqual(auto.u, 780)
    XCTAssertEqual(auto.p, 8.747567722893498e-08, accuracy: 1e-17)
    XCTAssertEqual(MannWhitney.test(x, y, method: .exact).p, 2.8357974783559977e-08, accuracy: 1e-17)
  }

  func testMinimumP() {
    // 2 / C(n1 + n2, n1): 3+3 -> 0.1, 3+4 -> 2/35, 4+4 -> 2/70.
    XCTAssertEqual(MannWhitney.minimumP(n1: 3, n2: 3), 0.1, accuracy: 1e-12)
    XCTAssertEqual(MannWhitney.minimumP(n1: 3, n2: 4), 2.0 / 35, accuracy: 1e-12)
    XCTAssertEqual(MannWhitney.minimumP(n1: 4, n2: 4), 2.0 / 70, accuracy: 1e-12)
    XCTAssertEqual(MannWhitney.minimumP(n1: 1, n2: 1), 1)
    // The exact test reaches it on complete separation.
    XCTAssertEqual(MannWhitney.test([1, 2, 3], [4, 5, 6, 7]).p, 2.0 / 35, accuracy: 1e-12)
  }

  func testUDistributionCountsArrangements() {
    // n1 = n2 = 2: U in 0...4 has C(4, 2) = 6 arrangements: 1 1 2 1 1.
    XCTAssertEqual(MannWhitney.uDistribution(n1: 2, n2: 2), [1, 1, 2, 1, 1])
  }
}
