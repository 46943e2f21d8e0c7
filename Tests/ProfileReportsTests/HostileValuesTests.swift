import Pprof
import ProfTestSupport
import XCTest

@testable import ProfileReports

/// Values anywhere in int64, as a file may hold them: every report saturates, none traps.
final class HostileValuesTests: XCTestCase {
  /// Two stacks under main whose values add up past Int64.max.
  private func overflowing(_ first: Int64, _ second: Int64) -> Profile {
    var profile = ProfileFixtures.cpu([(["main", "a"], 1), (["main", "b"], 1)])
    profile.samples[0].values = [first, first]
    profile.samples[1].values = [second, second]
    profile.durationNanos = 1_000_000_000
    return profile
  }

  func testTotalsSaturateAtInt64Bounds() throws {
    for (first, second, bound) in [(Int64.max, Int64(1), Int64.max), (Int64.min, -1, Int64.min)] {
      let profile = overflowing(first, second)
      let stacks = CallStacks(profile)
      let totals = FunctionTotals(profile, stacks, valueIndex: 1)
      XCTAssertEqual(totals.total, bound)
      let report = TopReport(totals, stacks, options: .init())
      XCTAssertEqual(report.rows.first { $0.name == "main" }?.cum, bound)
      let format = report.valueFormat(sampleUnit: "nanoseconds")
      let header = ProfileHeader.lines(profile, valueIndex: 1, total: totals.total, format: format)
      XCTAssertTrue(report.render(header: header, format: format).contains("  main\n"))
      XCTAssertEqual(CallTree(profile, stacks, valueIndex: 1).root.total, bound)
      let listing = SourceListing(profile, stacks, valueIndex: 1, matching: try FunctionMatcher("main"))
      XCTAssertEqual(listing.routines.first?.cum, bound)
      XCTAssertEqual(listing.total, bound)
    }
  }

  /// Sums are exact and clamped once: MAX + MAX + MIN is MAX - 1 in any order, as
  /// go tool pprof's wrapping sum gives it too (saturating each step gave -1 or MAX - 1).
  func testSumsDoNotDependOnTheOrderOfTheSamples() throws {
    for order in [[Int64.max, Int64.max, Int64.min], [Int64.max, Int64.min, Int64.max], [Int64.min, Int64.max, Int64.max]] {
      var profile = ProfileFixtures.cpu([(["main", "a"], 1), (["main", "b"], 1), (["main", "c"], 1)])
      for (index, value) in order.enumerated() { profile.samples[index].values = [value, value] }
      let stacks = CallStacks(profile)
      let totals = FunctionTotals(profile, stacks, valueIndex: 0)
      XCTAssertEqual(totals.total, Int64.max - 1, "\(order)")
      XCTAssertEqual(TopReport(totals, stacks, options: .init()).rows.first { $0.name == "main" }?.cum, Int64.max - 1, "\(order)")
      XCTAssertEqual(CallTree(profile, stacks, valueIndex: 0).root.total, Int64.max - 1, "\(order)")
      let listing = SourceListing(profile, stacks, valueIndex: 0, matching: try FunctionMatcher("main"))
      XCTAssertEqual(listing.total, Int64.max - 1, "\(order)")
      XCTAssertEqual(listing.routines.first?.cum, Int64.max - 1, "\(order)")
    }
  }

  func testDiffOfOppositeExtremesSaturates() {
    let base = overflowing(Int64.min, -1), new = overflowing(Int64.max, 1)
    func side(_ profile: Profile) -> (totals: FunctionTotals, stacks: CallStacks) {
      let stacks = CallStacks(profile)
      return (FunctionTotals(profile, stacks, valueIndex: 0), stacks)
    }
    let report = DiffReport(base: side(base), new: side(new), count: nil, sortByCum: true)
    XCTAssertEqual(report.rows.map(\.cumChange), [Int64.max, Int64.max, 2], "a, main, b")
    let text = report.render(header: [], format: report.valueFormat(sampleUnit: "count"))
    XCTAssertTrue(text.contains("  main\n"), text)
  }

  func testUnitChoiceAndSourceContextTakeExtremes() {
    XCTAssertEqual(ValueFormat(sampleUnit: "bytes", smallest: Int64.max, largest: Int64.max).format(Int64.max), "8192PB")
    var profile = ProfileFixtures.cpu([(["main"], 1)])
    profile.locations[0].lines[0].line = Int64.max
    let listing = SourceListing(profile, CallStacks(profile), valueIndex: 0, matching: try! FunctionMatcher("main"))
    XCTAssertTrue(listing.render(format: ValueFormat(autoScaling: "count")) { _ in .success(["only line"]) }.contains("ROUTINE"))
  }
}
