import AgentStream
import XCTest

@testable import Symbolization

final class FramePointerCheckTests: XCTestCase {
  private let app = module("/app/main", at: 0x10000)
  private let library = module("/lib/libnofp.so", at: 0x40000)
  private let agent = module("/prof/libProfAgent.so", at: 0x30000, size: 0x1000)

  private func check(_ stacks: [(frames: [UInt64], weight: UInt64)]) -> [String] {
    FramePointerCheck.modulesWithoutFramePointers(stacks, modules: [app, library, agent])
  }

  func testAModuleWhoseStacksMostlyEndAtTheLeafIsNamed() {
    let stacks: [(frames: [UInt64], weight: UInt64)] = [
      ([0x40100], 30),  // the leaf alone
      ([0x40200, 0x7fff_ffff_0000], 10),  // a bogus caller, dropped: still the leaf alone
      ([0x40300, 0x10100, 0x10200], 15),  // the library's leaf with callers
      ([0x10300, 0x10400], 100),  // the app walks fine
    ]
    XCTAssertEqual(check(stacks), ["/lib/libnofp.so"])
    XCTAssertEqual(FramePointerCheck.warnings(stacks, modules: [app, library]).count, 1)
    XCTAssertTrue(FramePointerCheck.warnings(stacks, modules: [app, library])[0].contains("libnofp.so"))
  }

  func testHalfOrLessShallowOrTooFewSamplesSayNothing() {
    XCTAssertEqual(check([([0x40100], 20), ([0x40300, 0x10100], 20)]), [], "half is not most")
    XCTAssertEqual(check([([0x40100], 9)]), [], "too few samples to tell")
    XCTAssertEqual(check([([0x40100], 10)]).count, 1, "a short run tells already")
    XCTAssertEqual(check([([0x30010, 0x10100, 0x10200], 50)]), [], "the agent's frames do not count")
    XCTAssertEqual(check([([0x30010, 0x10100], 50)]), ["/app/main"], "the leaf is the first frame outside the agent")
    XCTAssertEqual(check([([0x8, 0x10100], 50)]), [], "a leaf in no module is not the caller's module's")
  }
}
