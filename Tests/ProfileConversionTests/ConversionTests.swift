import Foundation
import Pprof
import ProfTestSupport
import ProfileConversion
import ProfileReports
import XCTest

final class ConversionTests: XCTestCase {
  private func tree(_ profile: Profile, valueIndex: Int = 0) -> CallTree {
    CallTree(profile, CallStacks(profile), valueIndex: valueIndex)
  }

  func testFoldedLinesAreSortedStacksWithIntegerCounts() {
    let profile = ProfileFixtures.cpu([(["main", "b"], 3), (["main", "a", "x"], 2), (["main", "a", "x"], 1), (["main"], 4)])
    XCTAssertEqual(FoldedStacks.write(tree(profile)), "main 4\nmain;a;x 3\nmain;b 3\n")
  }

  func testFoldedEscapesSeparatorsInNames() {
    let profile = ProfileFixtures.cpu([(["main", "f(a;b)\nnext"], 1)])
    XCTAssertEqual(FoldedStacks.write(tree(profile)), "main;f(a:b) next 1\n")
  }

  func testPprofToFoldedToPprofKeepsEveryCount() throws {
    let original = ProfileFixtures.cpu([(["main", "a", "a", "leaf"], 7), (["main", "b"], 5), (["main"], 1)])
    let folded = FoldedStacks.write(tree(original))
    let back = try FoldedStacks.read(folded)
    try back.validate()
    let decoded = try Profile(fileBytes: back.gzipped())
    XCTAssertEqual(FoldedStacks.write(tree(decoded)), folded)
    XCTAssertEqual(tree(decoded).root.total, 13)
    let stacks = CallStacks(decoded)
    let totals = FunctionTotals(decoded, stacks, valueIndex: 0)
    let cum = Dictionary(uniqueKeysWithValues: stacks.functions.enumerated().map { ($1.name, totals.cum[$0]) })
    XCTAssertEqual(cum, ["main": 13, "a": 7, "leaf": 7, "b": 5], "recursion counted once, as before")
  }

  func testMalformedFoldedLinesAreReportedByLine() {
    XCTAssertThrowsError(try FoldedStacks.read("a;b 1\na;b\n")) { XCTAssertEqual("\($0)", "line 2: expected \"frame;frame;... COUNT\"") }
    XCTAssertThrowsError(try FoldedStacks.read("a;b -1\n")) { XCTAssertEqual("\($0)", "line 1: the count \"-1\" is not a non-negative integer") }
    XCTAssertThrowsError(try FoldedStacks.read("a;;b 1\n")) { XCTAssertEqual("\($0)", "line 1: empty frame name") }
  }

  func testSpeedscopeWeightsAddUpToEachThreadsTotal() throws {
    let profile = ProfileFixtures.cpu([(["main", "a"], 2), (["main", "b"], 3), (["main", "a"], 4)],
                                      thread: { ["alpha", "beta", "alpha"][$0] })
    let stacks = CallStacks(profile)
    let tracks = CallTree.grouped(profile, stacks, valueIndex: 1, byLabel: "thread_comm", missing: "?")
    let file = Speedscope.file(name: "demo", unit: "nanoseconds", functions: stacks.functions, tracks: tracks)
    let decoded = try JSONDecoder().decode(Speedscope.File.self, from: Speedscope.json(file))
    XCTAssertEqual(decoded, file)
    XCTAssertEqual(decoded.profiles.map(\.name), ["alpha", "beta"])
    XCTAssertEqual(decoded.profiles.map { $0.weights.reduce(0, +) }, [60_000_000, 30_000_000])
    XCTAssertEqual(decoded.profiles.map(\.endValue), [60_000_000, 30_000_000])
    let alpha = decoded.profiles[0]
    XCTAssertEqual(alpha.samples.map { $0.map { decoded.shared.frames[$0].name } }, [["main", "a"]], "root first")
    let json = try XCTUnwrap(String(data: Speedscope.json(file), encoding: .utf8))
    XCTAssertTrue(json.hasPrefix("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\""), json)
  }
}
