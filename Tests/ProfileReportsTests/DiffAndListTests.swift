import Pprof
import ProfTestSupport
import XCTest

@testable import ProfileReports

final class DiffReportTests: XCTestCase {
  private func side(_ profile: Profile) -> (totals: FunctionTotals, stacks: CallStacks) {
    let stacks = CallStacks(profile)
    return (FunctionTotals(profile, stacks, valueIndex: 0), stacks)
  }

  func testRowsAreSortedByChange() {
    let base = ProfileFixtures.cpu([(["main", "a"], 10), (["main", "b"], 5), (["main", "gone"], 2)])
    let new = ProfileFixtures.cpu([(["main", "a"], 11), (["main", "b"], 1), (["main", "added"], 3)])
    let report = DiffReport(base: side(base), new: side(new), count: nil, sortByCum: false)
    XCTAssertEqual(report.rows.map(\.name), ["b", "added", "gone", "a", "main"], "main's cum changed")
    XCTAssertEqual(report.rows.map(\.flatChange), [-4, 3, -2, 1, 0])
    XCTAssertEqual(DiffReport(base: side(base), new: side(new), count: 1, sortByCum: true).rows.map(\.name), ["b"])
    let text = report.render(header: [], format: ValueFormat(autoScaling: "count"))
    XCTAssertTrue(text.hasPrefix("Total: base 17, new 15 (-2, -11.8%)\n"), text)
    XCTAssertTrue(text.contains("        +3     new         +3     new          0          3          0          3  added\n"), text)
  }
}

final class SourceListingTests: XCTestCase {
  func testLinesGetFlatAndCumWithContext() throws {
    var profile = ProfileFixtures.cpu([(["main", "work"], 3), (["main", "work", "leaf"], 2)])
    // work (function and location 1) sampled at two lines: 12, its own loop, and 14, the call to leaf.
    var call = Location(id: 10)
    call.lines = [Line(functionID: 1, line: 14)]
    profile.locations.append(call)
    profile.locations[0].lines[0].line = 12
    profile.samples[1].locationIDs[1] = 10
    let stacks = CallStacks(profile)
    let listing = SourceListing(profile, stacks, valueIndex: 0, matching: try FunctionMatcher("^work$"))
    XCTAssertEqual(listing.routines.map(\.name), ["work"])
    XCTAssertEqual(listing.routines[0].lines, [12: .init(flat: 3, cum: 3), 14: .init(flat: 0, cum: 2)])
    let source = (1...30).map { "line \($0)" }
    let text = listing.render(format: ValueFormat(autoScaling: "count")) { $0 == "/src/work.swift" ? source : nil }
    XCTAssertEqual(text, """
      Total: 5
      ROUTINE ======================== work in /src/work.swift
               3          5 (flat, cum)   100% of Total
      \((7...19).map { n in
        let values = n == 12 ? "         3          3" : n == 14 ? "         .          2" : "         .          ."
        return values + " " + String(repeating: " ", count: 6 - String(n).count) + "\(n):line \(n)\n"
      }.joined())
      """)
  }

  func testMissingSourceListsOnlySampledLines() throws {
    let profile = ProfileFixtures.cpu([(["main"], 1)])
    let listing = SourceListing(profile, CallStacks(profile), valueIndex: 0, matching: try FunctionMatcher("main"))
    XCTAssertEqual(listing.render(format: ValueFormat(autoScaling: "count")) { _ in nil }, """
      Total: 1
      ROUTINE ======================== main in /src/main.swift
               1          1 (flat, cum)   100% of Total
          (source not found: /src/main.swift)
               1          1     10:

      """)
  }
}
