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
    let text = listing.render(format: ValueFormat(autoScaling: "count")) { $0 == "/src/work.swift" ? .success(source) : .failure(.init("unexpected")) }
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

  func testMissingSourceIsOneErrorLineAsInPprof() throws {
    let profile = ProfileFixtures.cpu([(["main"], 1)])
    let listing = SourceListing(profile, CallStacks(profile), valueIndex: 0, matching: try FunctionMatcher("main"))
    XCTAssertEqual(listing.render(format: ValueFormat(autoScaling: "count")) { .failure(.init("open \($0): no such file or directory")) }, """
      Total: 1
      ROUTINE ======================== main in /src/main.swift
               1          1 (flat, cum)   100% of Total
       Error: open /src/main.swift: no such file or directory

      """)
  }

  func testAFunctionSampledInTwoFilesIsTwoRoutinesAndOneWithoutFilesHasNoSource() throws {
    var profile = ProfileFixtures.cpu([(["main", "work"], 3), (["main", "other"], 1)])
    var elsewhere = Function(id: 7)
    elsewhere.name = "work"
    elsewhere.filename = "/src/generated.swift"
    profile.functions.append(elsewhere)
    var location = Location(id: 7)
    location.lines = [Line(functionID: 7, line: 2)]
    profile.locations.append(location)
    profile.samples.append(Sample(locationIDs: [7, 2], values: [2, 0]))  // work in the other file, called by main
    profile.functions[2].filename = ""  // other
    let listing = SourceListing(profile, CallStacks(profile), valueIndex: 0, matching: try FunctionMatcher("work|other"))
    XCTAssertEqual(listing.routines.map { "\($0.name) in \($0.file) \($0.flat)/\($0.cum)" },
                   ["other in  1/1", "work in /src/generated.swift 2/2", "work in /src/work.swift 3/3"])
    XCTAssertTrue(listing.render(format: ValueFormat(autoScaling: "count")) { _ in .success([]) }
      .hasPrefix("Total: 6\nNo source information for other\nROUTINE ======================== work in /src/generated.swift\n"))
  }
}
