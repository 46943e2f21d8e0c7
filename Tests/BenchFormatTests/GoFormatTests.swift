import BenchFormat
import XCTest

final class GoFormatTests: XCTestCase {
  /// Verbatim `go test -bench . -benchmem -benchtime 100x -count 2` output of
  /// Go 1.19 (tabs included); BenchEndToEndTests regenerates such a file live.
  let goOutput = """
    goos: linux
    goarch: amd64
    pkg: example.com/gobench
    cpu: AMD EPYC
    BenchmarkAlloc-2     \t     100\t        15.23 ns/op\t       8 B/op\t       1 allocs/op
    BenchmarkBuilder/size=1-2         \t     100\t        58.48 ns/op\t 171.00 MB/s\t         1.500 widgets/op\t      24 B/op\t       2 allocs/op
    BenchmarkBuilder/size=1#01-2      \t     100\t      3195 ns/op\t 312.99 MB/s\t         1.500 widgets/op\t    3320 B/op\t       9 allocs/op
    PASS
    ok  \texample.com/gobench\t0.037s

    """

  func testParsesGoTestOutput() throws {
    let file = try GoFormatParser.parse(goOutput, file: "go.txt")
    XCTAssertEqual(
      file.config,
      [
        ConfigEntry("goos", "linux"), ConfigEntry("goarch", "amd64"),
        ConfigEntry("pkg", "example.com/gobench"), ConfigEntry("cpu", "AMD EPYC"),
      ])
    XCTAssertEqual(file.results.map(\.name), ["Alloc-2", "Builder/size=1-2", "Builder/size=1#01-2"])
    XCTAssertEqual(
      file.results[1],
      BenchmarkResult(
        name: "Builder/size=1-2", iterations: 100,
        measurements: [
          Measurement(58.48, "ns/op"), Measurement(171, "MB/s"), Measurement(1.5, "widgets/op"),
          Measurement(24, "B/op"), Measurement(2, "allocs/op"),
        ]))
  }

  func testWritesGoLinesExactly() throws {
    // Go's own lines from goOutput, re-rendered from the parsed model.
    let file = try GoFormatParser.parse(goOutput, file: "go.txt")
    let lines = goOutput.split(separator: "\n").map(String.init)
    XCTAssertEqual(GoFormatWriter.resultLine(file.results[0], nameWidth: 21), lines[4])
    XCTAssertEqual(GoFormatWriter.resultLine(file.results[1], nameWidth: 34), lines[5])
    XCTAssertEqual(GoFormatWriter.resultLine(file.results[2], nameWidth: 34), lines[6])
    XCTAssertEqual(file.config.map(GoFormatWriter.configLine), Array(lines[0..<4]))
  }

  func testPrettyPrintMatchesGoFormats() {
    // Go's prettyPrint thresholds: %10.0f, %12.1f, %13.2f, %14.3f, ... %18.7f.
    let cases: [(Double, String)] = [
      (0, "         0 ns/op"), (9712.4, "      9712 ns/op"), (999.95, "      1000 ns/op"),
      (999.94, "       999.9 ns/op"), (99.995, "       100.0 ns/op"),
      (15.234, "        15.23 ns/op"), (1.5, "         1.500 widgets/op"),
      (0.5, "         0.5000 ns/op"), (0.05, "         0.05000 ns/op"),
      (0.005, "         0.005000 ns/op"), (0.0001, "         0.0001000 ns/op"),
    ]
    for (value, expected) in cases {
      let unit = String(expected.split(separator: " ").last!)
      XCTAssertEqual(GoFormatWriter.prettyPrint(value, unit: unit), expected, "\(value)")
    }
  }

  func testRoundTripThroughText() throws {
    let original = BenchmarkFile(
      config: [ConfigEntry("goos", "linux"), ConfigEntry("pkg", "Bench")],
      results: [
        BenchmarkResult(
          name: "Decode/size=1k-2", iterations: 123_456,
          measurements: [
            Measurement(9712, "ns/op"), Measurement(1024, "B/op"), Measurement(12, "allocs/op"),
          ])
      ])
    let text = (original.config.map(GoFormatWriter.configLine)
      + original.results.map { GoFormatWriter.resultLine($0) }).joined(separator: "\n")
    XCTAssertEqual(try GoFormatParser.parse(text, file: "t"), original)
  }

  func testRoundTripThroughJSON() throws {
    let file = try GoFormatParser.parse(goOutput + "Unit widgets/op better=higher\n", file: "go.txt")
    XCTAssertEqual(try JSONFormat.decode(JSONFormat.encode(file), file: "j"), file)
  }

  func testUnitMetadata() throws {
    let file = try GoFormatParser.parse(
      "Unit B/s better=higher\nUnit hits/op assume=exact other=ignored\n", file: "u")
    XCTAssertEqual(file.units["B/s"], UnitMetadata(better: .higher))
    XCTAssertEqual(file.units["hits/op"], UnitMetadata(exact: true))
  }

  func testConfigLines() throws {
    let file = try GoFormatParser.parse(
      "note: a\nnote:\nUpper: no\nkey:novalue\nbranch:\tmain\n--- BENCH: x\n", file: "c")
    XCTAssertEqual(file.config, [ConfigEntry("branch", "main")])
  }

  func testMalformedLinesNameFileAndLine() {
    let cases = [
      ("BenchmarkX-2\n", "missing iteration count"),
      ("BenchmarkX-2 ten 5 ns/op\n", "parsing iteration count: invalid syntax: ten"),
      ("BenchmarkX-2 10\n", "missing measurements"),
      ("BenchmarkX-2 10 5\n", "missing units after 5"),
      ("BenchmarkX-2 10 fast ns/op\n", "parsing measurement: invalid number: fast"),
      ("Unit x/op better=sideways\n", "invalid better value sideways for unit x/op"),
    ]
    for (body, message) in cases {
      XCTAssertThrowsError(try GoFormatParser.parse("goos: linux\n" + body, file: "bad.txt")) {
        XCTAssertEqual("\($0)", "bad.txt:2: \(message)")
      }
    }
  }
}
