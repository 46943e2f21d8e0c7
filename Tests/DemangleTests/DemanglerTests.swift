import XCTest

@testable import Demangle

final class DemanglerTests: XCTestCase {
  func testSwift() {
    XCTAssertEqual(Demangler.demangle("$s4spin7hotLoopys6UInt64VSiF"), "spin.hotLoop(Swift.Int) -> Swift.UInt64")
    XCTAssertEqual(Demangler.demangle("_$s4spin7hotLoopys6UInt64VSiF"), "spin.hotLoop(Swift.Int) -> Swift.UInt64")
  }

  func testReadableNamesDropResultTypes() {
    XCTAssertEqual(Demangler.readableName("$s4spin7hotLoopys6UInt64VSiF"), "spin.hotLoop(Swift.Int)")
    XCTAssertEqual(Demangler.readableName("_ZN3foo3barEi"), "foo::bar(int)")
    XCTAssertEqual(Demangler.readableName("main"), "main")
  }

  func testCxx() {
    XCTAssertEqual(Demangler.demangle("_ZN3foo3barEi"), "foo::bar(int)")
  }

  func testPlainCAndGarbageAreLeftAlone() {
    XCTAssertEqual(Demangler.demangle("memcpy"), "memcpy")
    XCTAssertEqual(Demangler.demangle("$s"), "$s")
    XCTAssertEqual(Demangler.demangle("_Znot-a-symbol"), "_Znot-a-symbol")
  }
}
