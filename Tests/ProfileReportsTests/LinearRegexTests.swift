import XCTest

@testable import ProfileReports

final class LinearRegexTests: XCTestCase {
  private let texts = [
    "", "a", "aaa", "aaab", "main", "MyApp.Parser.parse(_:) -> Swift.Int", "/src/work.swift", "x\ny", "tiny.hot",
    "swift_retain", "[libswiftCore.so]", "ab12_cd", "Hello World", "é", "a.b", "foo{2}", "AbC",
  ]

  /// Patterns whose meaning RE2 and Swift's Regex share: both must agree on every text.
  func testAgreesWithSwiftRegexOnCommonSyntax() throws {
    let patterns = [
      "a", "^a", "a$", "^$", "^a+$", "a*b", "(a|b)+c?", "^(a+)+$", "\\.", "a.b", "[a-c]+", "[^a-z]", "\\d+", "\\w+\\(",
      "\\s", "\\bhot\\b", "\\Bot", "^MyApp\\.", "Parser\\.|tiny", "(?i)abc", "(?i:w)orld", "x.y", "(?s)x.y", "(?m)^y$",
      "a{2}", "a{2,}", "a{1,2}b", "foo{2}", "foo\\{2\\}", "[[:digit:]]+", "[\\d_]+", "(?:ab)+", "(?P<n>main)", "a|", "",
      "[a-]", "é", "\\x41", "\\x{e9}", "lib.*\\.so", "^\\[.*\\]$", "a*?b", "\\Qa.b\\E", "\\Aa", "b\\z",
    ]
    for pattern in patterns {
      let ours = try LinearRegex(pattern)
      let reference = try Regex(pattern.replacingOccurrences(of: "(?P<", with: "(?<")).wordBoundaryKind(.simple)
      for text in texts {
        XCTAssertEqual(ours.matches(text), text.unicodeScalars.count == text.count ? text.contains(reference) : ours.matches(text),
                       "\(pattern) on \(text.debugDescription)")
      }
    }
  }

  func testRE2SyntaxSwiftLacks() throws {
    XCTAssertTrue(try LinearRegex("[]a]").matches("]"), "] first in a class is a literal")
    XCTAssertTrue(try LinearRegex("a{,2}").matches("a{,2}"), "not a repeat: literal")
    XCTAssertTrue(try LinearRegex("(?i)straße").matches("STRAßE"))
    XCTAssertFalse(try LinearRegex("(?i)a(?-i)b").matches("AB"))
    XCTAssertTrue(try LinearRegex("(?i)a(?-i)b").matches("Ab"))
  }

  func testCatastrophicPatternsRunInLinearTime() throws {
    // A backtracking engine takes about 2^n steps on these; this one n * pattern size.
    let text = String(repeating: "a", count: 5000) + "b"
    XCTAssertFalse(try LinearRegex("^(a+)+$").matches(text))
    XCTAssertFalse(try LinearRegex("^(a|a)*$").matches(text))
    XCTAssertFalse(try LinearRegex("(a*)*c").matches(text))
    XCTAssertTrue(try LinearRegex("^(a+)+b$").matches(text))
  }

  func testInvalidPatternsSayWhy() {
    let cases = [
      "(": "missing closing )", "a)": "unexpected )", "a**": "invalid nested repetition operator", "*a": "missing argument to repetition operator: *",
      "(?=x)": "invalid or unsupported Perl syntax: (?=", "\\1": "invalid or unsupported escape sequence: \\1",
      "[z-a]": "invalid character class range", "a{1001}": "invalid repeat count", "[a": "missing closing ]",
      "\\": "trailing backslash at end of expression", "(a{1000}){1000}": "expression too large", "\\pL": "invalid or unsupported escape sequence: \\p",
    ]
    for (pattern, reason) in cases {
      XCTAssertThrowsError(try LinearRegex(pattern), pattern) { XCTAssertEqual("\($0)", reason, pattern) }
    }
  }
}
