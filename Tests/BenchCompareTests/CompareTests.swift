import BenchFormat
import XCTest

@testable import BenchCompare

final class CompareTests: XCTestCase {
  let base: [Double] = [1000, 1003, 997, 1010, 992, 1005, 999, 1001, 995, 1008]

  func file(_ name: String = "Decode-2", ns: [Double], allocs: Double = 12, units: [String: UnitMetadata] = [:]) -> BenchmarkFile {
    BenchmarkFile(
      units: units,
      results: ns.map {
        BenchmarkResult(
          name: name, iterations: 1000,
          measurements: [Measurement($0, "ns/op"), Measurement(allocs, "allocs/op")])
      })
  }

  func run(_ old: BenchmarkFile, _ new: BenchmarkFile, _ options: CompareOptions = CompareOptions()) -> Comparison {
    compare(old: old, oldLabel: "old.txt", new: new, newLabel: "new.txt", options: options)
  }

  func testTwentyPercentSlowerIsARegression() {
    let c = run(file(ns: base), file(ns: base.map { $0 * 1.2 }))
    let row = c.tables[0].rows[0]
    XCTAssertEqual(row.verdict, .regression)
    XCTAssertEqual(row.delta!, 0.2, accuracy: 0.005)
    // Exact test, 10 vs 10, complete separation: p = 2 / C(20, 10).
    XCTAssertEqual(row.pAdjusted!, 2 / 184_756, accuracy: 1e-12)
    XCTAssertEqual(c.regressions.count, 1)
  }

  func testIdenticalDistributionsAreUnchanged() {
    let c = run(file(ns: base), file(ns: base.reversed()))
    XCTAssertEqual(c.tables.map { $0.rows[0].verdict }, [.unchanged, .unchanged])
    XCTAssertTrue(c.regressions.isEmpty)
  }

  func testThresholdAndFloorLimitRegressions() {
    let slower = file(ns: base.map { $0 * 1.03 })
    XCTAssertEqual(run(file(ns: base), slower).tables[0].rows[0].verdict, .belowThreshold)
    var options = CompareOptions()
    options.threshold = 0.01
    XCTAssertEqual(run(file(ns: base), slower, options).tables[0].rows[0].verdict, .regression)
    options.floor = 50  // the medians differ by about 30 ns/op
    XCTAssertEqual(run(file(ns: base), slower, options).tables[0].rows[0].verdict, .belowThreshold)
  }

  func testFasterIsAnImprovement() {
    let c = run(file(ns: base), file(ns: base.map { $0 * 0.7 }))
    XCTAssertEqual(c.tables[0].rows[0].verdict, .improvement)
  }

  func testAllocsAreExactWithTolerance() {
    let c = run(file(ns: base, allocs: 12), file(ns: base, allocs: 13))
    let allocs = c.tables.first { $0.unit == "allocs/op" }!
    XCTAssertTrue(allocs.exact)
    XCTAssertNil(allocs.rows[0].p)
    XCTAssertEqual(allocs.rows[0].verdict, .regression)
    var options = CompareOptions()
    options.exactTolerance = 1
    XCTAssertTrue(run(file(ns: base, allocs: 12), file(ns: base, allocs: 13), options).regressions.isEmpty)
  }

  func testHigherIsBetterUnits() {
    func throughput(_ values: [Double]) -> BenchmarkFile {
      BenchmarkFile(results: values.map {
        BenchmarkResult(name: "Copy-2", iterations: 1, measurements: [Measurement($0, "MB/s")])
      })
    }
    XCTAssertEqual(run(throughput(base), throughput(base.map { $0 * 0.8 })).regressions.count, 1)
    XCTAssertTrue(run(throughput(base), throughput(base.map { $0 * 1.2 })).regressions.isEmpty)
    // A Unit line can declare any unit higher-is-better.
    let higher = ["ns/op": UnitMetadata(better: .higher)]
    XCTAssertTrue(run(file(ns: base), file(ns: base.map { $0 * 1.2 }, units: higher)).regressions.isEmpty)
  }

  func testHolmAdjustsAcrossBenchmarks() {
    // Two benchmarks, both 20% slower with 5 samples a side: exact p = 2/252
    // each; Holm multiplies the smaller by 2, so neither stays below 0.05...
    let five = Array(base.prefix(5))
    let old = BenchmarkFile(results: file("A-2", ns: five).results + file("B-2", ns: five).results)
    let new = BenchmarkFile(
      results: file("A-2", ns: five.map { $0 * 1.2 }).results
        + file("B-2", ns: five.map { $0 * 1.2 }).results)
    let rows = run(old, new).tables[0].rows
    XCTAssertEqual(rows.map { $0.p! }, [2.0 / 252, 2.0 / 252])
    XCTAssertEqual(rows.map { $0.pAdjusted! }, [4.0 / 252, 4.0 / 252])
    // ...at alpha 0.01 the unadjusted 0.0079 would pass but 0.0159 does not.
    var options = CompareOptions()
    options.alpha = 0.01
    XCTAssertTrue(run(old, new, options).regressions.isEmpty)
  }

  func testWarnsAboutSmallSamples() {
    let c = run(file(ns: Array(base.prefix(3))), file(ns: base))
    XCTAssertEqual(
      c.warnings.map(\.description),
      ["old.txt: Decode-2 has 3 samples: fewer than 6 give no finite 95% CI of the median;"
        + " run with --count 10"])
  }

  func testWarnsWhenNoChangeCanBeSignificant() {
    // 3 against 3: the smallest two-sided p is 2 / C(6, 3) = 0.1.
    let three = Array(base.prefix(3))
    let c = run(file(ns: three), file(ns: three.map { $0 * 1.2 }))
    XCTAssertTrue(c.regressions.isEmpty)
    XCTAssertEqual(c.warnings.count, 2)
    XCTAssertEqual(
      "\(c.warnings[1])",
      "new.txt: Decode-2 has 3 samples: fewer than 6 give no finite 95% CI of the median;"
        + " against 3 the smallest possible p is 0.100, so no change can be significant;"
        + " run with --count 10")
  }

  func testGeomeanAndUnmatchedNames() {
    let old = BenchmarkFile(results: file("A-2", ns: base).results + file("B-2", ns: base).results
      + file("Gone-2", ns: base).results)
    let new = BenchmarkFile(results: file("A-2", ns: base.map { $0 * 1.21 }).results
      + file("B-2", ns: base).results + file("Added-2", ns: base).results)
    let c = run(old, new)
    XCTAssertEqual(c.tables[0].geomean!.delta, 0.1, accuracy: 1e-9, "sqrt(1.21) - 1")
    XCTAssertEqual(c.onlyInOld, ["Gone-2"])
    XCTAssertEqual(c.onlyInNew, ["Added-2"])
  }

  func testTextReport() {
    let c = run(file(ns: base), file(ns: base.map { $0 * 1.2 }))
    let text = render(c, format: .text, options: CompareOptions())
    // Medians 1000.5 and 1200.6; 95% CI = 2nd and 9th of 10 order statistics.
    XCTAssertEqual(
      text,
      """
      ns/op     old (median, 95% CI)  new (median, 95% CI)  delta    p                verdict
      Decode-2  1000 [995, 1008]      1201 [1194, 1210]     +20.00%  p=0.000 n=10+10  REGRESSION

      allocs/op  old (median, 95% CI)  new (median, 95% CI)  delta  p              verdict
      Decode-2   12 [12, 12]           12 [12, 12]           0      exact n=10+10

      1 regression: Decode-2 ns/op +20.00% (threshold 5%, alpha 0.05 with Holm-Bonferroni, exact tolerance 0).

      """)
  }

  func testJSONReport() throws {
    let c = run(file("Decode/size=1k-2", ns: base), file("Decode/size=1k-2", ns: base.map { $0 * 1.2 }))
    let json = render(c, format: .json, options: CompareOptions())
    XCTAssertTrue(json.contains(#""name" : "Decode/size=1k-2""#), "slashes are not escaped")
    let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
    let tables = object["tables"] as! [[String: Any]]
    let rows = tables[0]["rows"] as! [[String: Any]]
    XCTAssertEqual(tables[0]["unit"] as? String, "ns/op")
    XCTAssertEqual(rows[0]["verdict"] as? String, "regression")
    XCTAssertEqual((rows[0]["old"] as! [String: Any])["count"] as? Int, 10)
  }

  func testMarkdownReport() {
    let c = run(file(ns: base), file(ns: base))
    let markdown = render(c, format: .markdown, options: CompareOptions())
    XCTAssertTrue(markdown.hasPrefix("### Benchmark comparison\n\nNo regressions"))
    XCTAssertTrue(markdown.contains(
      "| ns/op | old (median, 95% CI) | new (median, 95% CI) | delta | p | verdict |\n|---|---|---|---|---|---|\n"
        + "| Decode-2 | 1000 [995, 1008] | 1000 [995, 1008] | ~ | p=1.000 n=10+10 |  |\n"))
  }

  func testAMedianOfZeroOrBelowGetsTheAbsoluteChangeNotAPercentage() {
    for old in [base.map { $0 / 1000 - 1.5 }, base.map { _ in 0 }] {  // about -0.5 ns/op, then exactly 0
      let c = run(file(ns: old), file(ns: base.map { $0 / 100 }))
      let row = c.tables[0].rows[0]
      XCTAssertNil(row.delta, "no ratio to a median of \(row.old.median)")
      XCTAssertEqual(row.verdict, .regression, "slower by about 10.5 ns/op in absolute terms")
      let text = render(c, format: .text, options: CompareOptions())
      XCTAssertTrue(text.contains("1 regression: Decode-2 ns/op " + signed(row.difference) + " (a median <= 0: no %) ("), text)
      XCTAssertFalse(text.contains("inf") || text.contains("00%"), text)
    }
  }
}
