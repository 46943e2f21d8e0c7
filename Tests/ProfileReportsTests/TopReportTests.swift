import Pprof
import ProfTestSupport
import XCTest

@testable import ProfileReports

final class TopReportTests: XCTestCase {
  private func top(_ profile: Profile, _ options: TopReport.Options = .init(), focus: String? = nil,
                   ignore: String? = nil) throws -> TopReport {
    let stacks = CallStacks(profile)
    let filter = try SampleFilter(stacks, focus: focus, ignore: ignore)
    let index = try SampleTypeChoice.index(in: profile, named: nil)
    return TopReport(profile, stacks, valueIndex: index, filter: filter, options: options)
  }

  private func values(_ report: TopReport) -> [String: [Int64]] {
    Dictionary(uniqueKeysWithValues: report.rows.map { ($0.name, [$0.flat / 10_000_000, $0.cum / 10_000_000]) })
  }

  func testFlatIsTheLeafAndCumCountsRecursionOnce() throws {
    let profile = ProfileFixtures.cpu([
      (["main", "work", "work", "leaf"], 6),
      (["main", "work"], 3),
      (["main"], 1),
    ])
    let report = try top(profile)
    XCTAssertEqual(report.total, 100_000_000)
    XCTAssertEqual(values(report), ["leaf": [6, 6], "work": [3, 9], "main": [1, 10]])
    XCTAssertEqual(report.rows.map(\.name), ["leaf", "work", "main"])
    XCTAssertEqual(try top(profile, .init(sortByCum: true)).rows.map(\.name), ["main", "work", "leaf"])
  }

  func testCountLimitsRowsAndSmallFunctionsAreDropped() throws {
    let profile = ProfileFixtures.cpu([(["main", "big"], 999), (["main", "tiny"], 1)])
    let report = try top(profile, .init(count: 1))
    XCTAssertEqual(report.rows.map(\.name), ["big"])
    XCTAssertEqual(report.droppedCount, 1, "tiny is 0.1% < 0.5%")
    XCTAssertEqual(report.candidateCount, 2)
  }

  func testFocusAndIgnoreSelectSamples() throws {
    let profile = ProfileFixtures.cpu([(["main", "a", "x"], 2), (["main", "b", "x"], 3)])
    XCTAssertEqual(values(try top(profile, focus: "^a$")), ["main": [0, 2], "a": [0, 2], "x": [2, 2]])
    XCTAssertEqual(values(try top(profile, ignore: "^a$")), ["main": [0, 3], "b": [0, 3], "x": [3, 3]])
    XCTAssertThrowsError(try top(profile, focus: "(")) { XCTAssertTrue("\($0)".hasPrefix("invalid regular expression \"(\"")) }
  }

  func testInlinedFunctionsAreMarked() throws {
    var profile = ProfileFixtures.cpu([(["main", "outer"], 1)])
    var inner = Function(id: 9)
    inner.name = "inner"
    profile.functions.append(inner)
    profile.locations[0].lines.insert(Line(functionID: 9, line: 3), at: 0)
    let report = try top(profile)
    XCTAssertEqual(report.rows.first { $0.name == "inner" }?.inlineLabel, "(inline)")
    XCTAssertEqual(report.rows.first { $0.name == "inner" }?.flat, 10_000_000, "the innermost inline frame is the leaf")
    XCTAssertEqual(report.rows.first { $0.name == "outer" }?.inlineLabel, "")
  }

  /// pprof marks per call edge: an edge is inline only if every sample has it inline.
  func testInlineMarksArePerCallerAsInPprof() throws {
    var profile = ProfileFixtures.cpu([(["main", "outer"], 1), (["main", "outer", "inner"], 1), (["main", "other"], 1)])
    func id(_ name: String) -> UInt64 { profile.functions.first { $0.name == name }!.id }
    func location(_ name: String) -> Int { profile.locations.firstIndex { $0.lines[0].functionID == id(name) }! }
    // Sample 0: outer's location inlines inner. Sample 1: outer calls inner from another location, not inlined.
    var call = Location(id: 50)
    call.lines = [Line(functionID: id("outer"), line: 7)]
    profile.locations.append(call)
    profile.samples[1].locationIDs[1] = 50
    profile.locations[location("outer")].lines.insert(Line(functionID: id("inner"), line: 3), at: 0)
    XCTAssertEqual(try top(profile).rows.first { $0.name == "inner" }?.inlineLabel, "", "one edge, not always inline")
    // other always inlines inner, while outer does not: partially inline.
    profile.locations[location("other")].lines.insert(Line(functionID: id("inner"), line: 4), at: 0)
    XCTAssertEqual(try top(profile).rows.first { $0.name == "inner" }?.inlineLabel, "(partial-inline)")
  }

  /// Rows left out take their calls with them, as pprof trims its graph before marking:
  /// inner, inlined into outer, loses its mark when outer and main are not shown,
  /// and keeps it when main, outer's caller, is.
  func testInlineMarksAreThoseOfTheFunctionsShown() throws {
    var profile = ProfileFixtures.cpu([(["main", "outer"], 5), (["main", "big"], 10)])
    var inner = Function(id: 9)
    inner.name = "inner"
    profile.functions.append(inner)
    let outer = profile.functions.first { $0.name == "outer" }!.id
    profile.locations[profile.locations.firstIndex { $0.lines[0].functionID == outer }!].lines.insert(
      Line(functionID: 9, line: 3), at: 0)
    XCTAssertEqual(try top(profile).rows.first { $0.name == "inner" }?.inlineLabel, "(inline)")
    XCTAssertEqual(try top(profile, .init(count: 2)).rows.map(\.name), ["big", "inner"])
    XCTAssertEqual(try top(profile, .init(count: 2)).rows.last?.inlineLabel, "", "no caller shown, no call")
    XCTAssertEqual(try top(profile, .init(count: 3)).rows.map(\.name), ["big", "inner", "main"])
    XCTAssertEqual(try top(profile, .init(count: 3)).rows[1].inlineLabel, "(inline)", "main -> inner, inlined in its location")
  }

  func testMangledNamesAreDemangled() throws {
    var profile = ProfileFixtures.cpu([(["main"], 1)])
    profile.functions[0].name = "$s4spin7hotLoopyS2iF"
    XCTAssertEqual(try top(profile).rows.first?.name, "spin.hotLoop(Swift.Int) -> Swift.Int")
  }

  func testSampleTypeChoice() throws {
    var profile = ProfileFixtures.cpu([(["main"], 1)])
    XCTAssertEqual(try SampleTypeChoice.index(in: profile, named: nil), 1, "the last type")
    XCTAssertEqual(try SampleTypeChoice.index(in: profile, named: "samples"), 0)
    XCTAssertEqual(try SampleTypeChoice.index(in: profile, named: "0"), 0)
    profile.defaultSampleType = "samples"
    XCTAssertEqual(try SampleTypeChoice.index(in: profile, named: nil), 0, "default_sample_type wins")
    XCTAssertThrowsError(try SampleTypeChoice.index(in: profile, named: "alloc_space")) {
      XCTAssertEqual("\($0)", "no sample type \"alloc_space\" (the profile has: samples, cpu)")
    }
  }

  func testRenderMatchesPprofLayout() throws {
    // The smallest value (10ms) is over 100 times smaller than the total: seconds, as pprof picks.
    let profile = ProfileFixtures.cpu([(["main", "hot"], 112), (["main", "cold"], 37), (["main"], 1)])
    let report = try top(profile)
    let format = report.valueFormat(sampleUnit: "nanoseconds")
    XCTAssertEqual(report.render(header: ["Type: cpu"], format: format), """
      Type: cpu
      Showing nodes accounting for 1.50s, 100% of 1.50s total
            flat  flat%   sum%        cum   cum%
           1.12s 74.67% 74.67%      1.12s 74.67%  hot
           0.37s 24.67% 99.33%      0.37s 24.67%  cold
           0.01s  0.67%   100%      1.50s   100%  main

      """)
  }
}

final class ValueFormatTests: XCTestCase {
  func testUnitsFollowPprof() {
    let auto = ValueFormat(autoScaling: "nanoseconds")
    XCTAssertEqual(auto.format(1_500_000_000), "1.50s")
    XCTAssertEqual(auto.format(10_000_000), "10ms")
    XCTAssertEqual(auto.format(0), "0")
    XCTAssertEqual(auto.format(7_200_000_000_000), "2hrs")
    let bytes = ValueFormat(autoScaling: "bytes")
    XCTAssertEqual(bytes.format(512), "512B")
    XCTAssertEqual(bytes.format(1536), "1.50kB")
    XCTAssertEqual(bytes.format(3 << 20), "3MB")
    XCTAssertEqual(ValueFormat(autoScaling: "count").format(1234), "1234")
  }

  func testTableUnitComesFromTheSmallestValue() {
    XCTAssertEqual(ValueFormat(sampleUnit: "nanoseconds", smallest: 10_000_000, largest: 1_490_000_000).format(10_000_000), "0.01s")
    XCTAssertEqual(ValueFormat(sampleUnit: "nanoseconds", smallest: 10_000_000, largest: 900_000_000).format(900_000_000), "900ms")
  }

  func testPercentages() {
    XCTAssertEqual(percentage(1, of: 1), "  100%")
    XCTAssertEqual(percentage(1, of: 4), "25.00%")
    XCTAssertEqual(percentage(1, of: 400), " 0.25%")
    XCTAssertEqual(percentage(0, of: 0), "    0%")
  }
}
