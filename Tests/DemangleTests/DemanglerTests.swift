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

  /// Symbols of swift-frontend: Swift's LLVM appends Tm to functions it merged.
  func testCxxMergedFunctions() {
    XCTAssertEqual(Demangler.demangle("_ZN5swift8TypeBase6castToINS_15SILFunctionTypeEEEPT_vTm"),
                   "swift::SILFunctionType* swift::TypeBase::castTo<swift::SILFunctionType>() [merged]")
    XCTAssertEqual(Demangler.demangle("_ZN4llvm23SmallVectorTemplateBaseIPN5swift14SILInstructionELb1EE9push_backES3_Tm"),
                   "llvm::SmallVectorTemplateBase<swift::SILInstruction*, true>::push_back(swift::SILInstruction*) [merged]")
    XCTAssertEqual(Demangler.demangle("_ZN3foo3barEiTm.cold.1"), "foo::bar(int) [merged] [clone .cold.1]")
    XCTAssertEqual(Demangler.demangle("_ZN3foo3barEi.cold.1"), "foo::bar(int) [clone .cold.1]")
    XCTAssertEqual(Demangler.demangle("_ZN3foo3barEiTm.constprop.0.isra.0"),
                   "foo::bar(int) [merged] [clone .constprop.0] [clone .isra.0]", "one bracket per clone, as __cxa_demangle")
    XCTAssertEqual(Demangler.readableName("_ZN3foo3barEiTm"), "foo::bar(int) [merged]")
  }

  func testPlainCAndGarbageAreLeftAlone() {
    XCTAssertEqual(Demangler.demangle("memcpy"), "memcpy")
    XCTAssertEqual(Demangler.demangle("$s"), "$s")
    XCTAssertEqual(Demangler.demangle("_Znot-a-symbol"), "_Znot-a-symbol")
    XCTAssertEqual(Demangler.demangle("_ZTm"), "_ZTm")
    XCTAssertEqual(Demangler.demangle("_Z3fooTmTm"), "_Z3fooTmTm")
  }
}
