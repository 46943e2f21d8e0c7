import Foundation
import Pprof
import ProfTestSupport
import XCTest

/// Valid profiles that are extreme in value, depth or size, read by every report
/// command as a user runs them: no trap, no crash, no abort.
final class HostileProfileTests: OutputDirectoryTestCase {
  private let reports: [[String]] = [["top"], ["list", "."], ["diff"], ["convert", "--to", "folded"],
                                     ["convert", "--to", "speedscope"]]

  private func assertEveryReportReads(_ file: String, line: UInt = #line) throws {
    for command in reports {
      let arguments = command == ["diff"] ? ["diff", file, file] : command + [file]
      let run = try ProfHarness.prof(arguments)
      XCTAssertEqual(run.status, 0, "\(arguments): \(run.stderr)", line: line)
      XCTAssertFalse(run.stdout.isEmpty, "\(arguments)", line: line)
    }
    let flame = try ProfHarness.prof(["flame", file, "-o", output("flame.svg")])
    XCTAssertEqual(flame.status, 0, flame.stderr, line: line)
  }

  func testSumsPastInt64Saturate() throws {
    let folded = output("x.folded"), file = output("x.pb.gz")
    try "a 9223372036854775807\nb 1\n".write(toFile: folded, atomically: true, encoding: .utf8)
    XCTAssertEqual(try ProfHarness.prof(["convert", "--to", "pprof", folded, "-o", file]).status, 0)
    XCTAssertTrue(try ProfHarness.pprof(["-raw", file]).stdout.contains("9223372036854775807"))
    try assertEveryReportReads(file)
    let top = try ProfHarness.prof(["top", file]).stdout
    XCTAssertTrue(top.contains("of 9223372036854775808 total\n"), "the total saturates at Int64.max:\n\(top)")
    let folded2 = try ProfHarness.prof(["convert", "--to", "folded", file]).stdout
    XCTAssertEqual(folded2, "a 9223372036854775807\nb 1\n")
  }

  /// One stack `f0;f1;...;f(depth-1)`, written as a pprof file.
  private func deepStack(_ depth: Int) throws -> String {
    let profile = ProfileFixtures.cpu([((0..<depth).map { "f\($0)" }, 1)])
    let file = output("deep-\(depth).pb.gz")
    try Data(profile.gzipped()).write(to: URL(fileURLWithPath: file))
    return file
  }

  func testAMillionFrameStackConvertsToFoldedAndSpeedscope() throws {
    // Both crashed at 100,000 frames (a recursive walk of the call tree).
    let depth = 1_000_000, file = try deepStack(depth)
    let folded = try ProfHarness.prof(["convert", "--to", "folded", file])
    XCTAssertEqual(folded.status, 0, folded.stderr)
    XCTAssertEqual(folded.stdout, (0..<depth).map { "f\($0)" }.joined(separator: ";") + " 1\n")
    let speedscope = try ProfHarness.prof(["convert", "--to", "speedscope", file])
    XCTAssertEqual(speedscope.status, 0, speedscope.stderr)
    let json = try JSONSerialization.jsonObject(with: Data(speedscope.stdout.utf8)) as? [String: Any]
    let samples = (json?["profiles"] as? [[String: Any]])?.first?["samples"] as? [[Int]]
    XCTAssertEqual(samples?.first?.count, depth)
  }

  func testAHundredThousandFrameStackIsReadByEveryReport() throws {
    // flame crashed from 20,000 frames; a million frames draw too (250 MB of SVG), too slow for the suite.
    let depth = 100_000, file = try deepStack(depth), svg = output("deep.svg")
    let run = try ProfHarness.prof(["flame", file, "-o", svg])
    XCTAssertEqual(run.status, 0, run.stderr)
    let text = try String(contentsOfFile: svg, encoding: .utf8)
    XCTAssertEqual(text.components(separatedBy: "<g class=\"f\"").count - 1, depth + 1, "every frame and the root")
    XCTAssertTrue(text.contains("data-name=\"f99999\""))
    let top = try ProfHarness.prof(["top", "-n", "2", "--sample-index", "samples", file])
    XCTAssertEqual(top.status, 0, top.stderr)
    XCTAssertTrue(top.stdout.hasSuffix("         1   100%   100%          1   100%  f99999\n"
      + "         0     0%   100%          1   100%  f0\n"), top.stdout)
    let list = try ProfHarness.prof(["list", "^f9999.$", file])
    XCTAssertEqual(list.status, 0, list.stderr)
    XCTAssertEqual(list.stdout.components(separatedBy: "ROUTINE").count - 1, 10)
    XCTAssertEqual(try ProfHarness.prof(["diff", file, file]).status, 0)
  }
}
