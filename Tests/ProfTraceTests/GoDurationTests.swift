@testable import prof
import XCTest

/// GoDuration reads what Go's time.ParseDuration reads: the tables are Go's own
/// (src/time/time_test.go, parseDurationTests and parseDurationErrorTests).
final class GoDurationTests: XCTestCase {
  private static let second = 1e9, minute = 60e9, hour = 3600e9, millisecond = 1e6

  private static let valid: [(String, Double)] = [
    // simple
    ("0", 0), ("5s", 5 * second), ("30s", 30 * second), ("1478s", 1478 * second),
    // sign
    ("-5s", -5 * second), ("+5s", 5 * second), ("-0", 0), ("+0", 0),
    // decimal
    ("5.0s", 5 * second), ("5.6s", 5 * second + 600 * millisecond), ("5.s", 5 * second), (".5s", 500 * millisecond),
    ("1.0s", second), ("1.00s", second), ("1.004s", second + 4 * millisecond), ("1.0040s", second + 4 * millisecond),
    ("100.00100s", 100 * second + millisecond),
    // different units
    ("10ns", 10), ("11us", 11e3), ("12\u{00B5}s", 12e3), ("12\u{03BC}s", 12e3), ("13ms", 13 * millisecond),
    ("14s", 14 * second), ("15m", 15 * minute), ("16h", 16 * hour),
    // composite durations
    ("3h30m", 3 * hour + 30 * minute), ("10.5s4m", 4 * minute + 10.5 * second), ("-2m3.4s", -(2 * minute + 3.4 * second)),
    ("1h2m3s4ms5us6ns", hour + 2 * minute + 3 * second + 4 * millisecond + 5e3 + 6),
    ("39h9m14.425s", 39 * hour + 9 * minute + 14.425 * second),
    // large values
    ("52763797000ns", 52_763_797_000), ("0.3333333333333333333h", 20 * minute), ("9007199254740993ns", 9_007_199_254_740_993),
    ("9223372036854775807ns", 0x1p63 - 1), ("9223372036854775.807us", 0x1p63 - 1), ("9223372036s854ms775us807ns", 0x1p63 - 1),
    ("-9223372036854775808ns", -0x1p63), ("-9223372036854775.808us", -0x1p63), ("-9223372036s854ms775us808ns", -0x1p63),
    ("-2562047h47m16.854775808s", -0x1p63),
    ("0.100000000000000000000h", 6 * minute), ("0.830103483285477580700h", 49 * minute + 48 * second + 372_539_827),
  ]

  private static let invalid = [
    "", "3", "-", "s", ".", "-.", ".s", "+.s", "1d", "\u{FFFD}", "\u{FFFD} hello \u{FFFD} world",
    // overflow
    "9223372036854775810ns", "9223372036854775808ns", "-9223372036854775809ns", "9223372036854776us", "3000000h",
    "9223372036854775.808us", "9223372036854ms775us808ns",
    // what prof's reader took before it followed Go
    "1e3ms", "2 ms", "1ms ", "00", "1ms2", "inf", "nans",
  ]

  func testGoDurationsAreRead() {
    for (text, expected) in Self.valid {
      guard let read = GoDuration.nanoseconds(parsing: text) else { XCTFail("\(text) refused"); continue }
      XCTAssertEqual(read, expected, accuracy: max(1, abs(expected) * 1e-15), text)  // Go truncates a fraction of a ns; prof keeps it to round
    }
  }

  func testWhatGoRefusesIsRefused() {
    for text in Self.invalid { XCTAssertNil(GoDuration.nanoseconds(parsing: text), text) }
  }

  func testValidateSaysTheSyntaxAndTheRange() throws {
    for (text, accepted) in [("1m", true), ("1h", true), ("1m30s", true), ("0", true), ("1h1ns", false), ("-1ms", false), ("1e3ms", false)] {
      let duration = try XCTUnwrap(GoDuration(argument: text))
      XCTAssertEqual((try? duration.validate("--x")) != nil, accepted, text)
    }
    XCTAssertThrowsError(try XCTUnwrap(GoDuration(argument: "1x")).validate("--x")) {
      XCTAssertTrue("\($0)".contains("ns, us, µs, ms, s, m, h"), "\($0)")
    }
  }

  func testPositiveDurationsUnderANanosecondAreOne() throws {
    XCTAssertEqual(try XCTUnwrap(GoDuration(argument: "0.0000001ns")).nanoseconds, 1)
    XCTAssertEqual(try XCTUnwrap(GoDuration(argument: "0s")).nanoseconds, 0)
  }

  func testDurationsArePrintedAsGoPrintsThem() throws {
    let printed = try ["1.5ms", "500us", "10s", "1m30s", "1h", "90s", "2m0.5s"].map { "\(try XCTUnwrap(GoDuration(argument: $0)))" }
    XCTAssertEqual(printed, ["1.5ms", "500us", "10s", "1m30s", "1h0m0s", "1m30s", "2m0.5s"])
  }
}
