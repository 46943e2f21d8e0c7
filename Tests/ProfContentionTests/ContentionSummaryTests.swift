@testable import ContentionProfiling
import XCTest

/// The line prof prints after a block or mutex profile: the exact totals beside the profile's.
final class ContentionSummaryTests: XCTestCase {
  /// A live program's mutex profile holds, charged at each release, the time so far
  /// of waits still in progress; the exact total counts a wait when it ends. The
  /// line says why the two differ (audit: 143.075 s beside 145.953 s).
  func testALiveMutexSnapshotSaysWhyItsTotalsDiffer() {
    let live = ContentionProfile.totals(.mutex, waits: 2053, waitNanos: 143_075_000_000, contentions: 2053,
                                        delayNanos: 145_953_000_000, running: true)
    XCTAssertTrue(live.hasPrefix("2053 waits that blocked, 143.075 s in all; the mutex profile: 2053 contentions, 145.953 s"), live)
    XCTAssertTrue(live.contains("waits still in progress"), live)
  }

  func testTotalsThatAgreeOrAreFinalAreGivenAlone() {
    let exited = ContentionProfile.totals(.mutex, waits: 313, waitNanos: 23_272_000_000, contentions: 313,
                                          delayNanos: 23_272_000_000, running: false)
    XCTAssertEqual(exited, "313 waits that blocked, 23.272 s in all; the mutex profile: 313 contentions, 23.272 s")
    let agreeing = ContentionProfile.totals(.mutex, waits: 313, waitNanos: 23_272_000_000, contentions: 313,
                                            delayNanos: 23_272_000_000, running: true)
    XCTAssertEqual(agreeing, exited)
    let block = ContentionProfile.totals(.block, waits: 3, waitNanos: 2_000_000_000, contentions: 3,
                                         delayNanos: 2_000_000_000, running: true)
    XCTAssertFalse(block.contains("in progress"), block)
  }
}
