import Foundation
import ProfTestSupport
import XCTest

/// Swift async call stacks (--async-stacks): fixtures/async, read back with
/// `go tool pprof -traces`. The expected chains are the fixtures' own structure.
final class AsyncStackEndToEndTests: OutputDirectoryTestCase {
  private func traces(_ file: String) throws -> [PprofTrace] { try PprofTrace.of(file) }

  private func shareWithCallers(_ traces: [PprofTrace], leaf: String, callers: [String]) -> (share: Double, leafMs: Double) {
    let (share, leafValue) = PprofTrace.shareWithCallers(traces, leaf: leaf, callers: callers)
    return (share, leafValue)
  }

  private static let nestedChain = ["leafWork", "middle", "handleRequest", "closure #1 in closure #1 in static main.Nested.main()"]

  func testBurnCarriesItsAwaitingChainUpToTheTaskGroupChildInBothBuildsAndUnwinders() throws {
    for optimization in ["-O", "-Onone"] {
      let program = try ProfHarness.swiftFixture("async", "nested", into: directory, flags: [optimization])
      for unwind in ["libunwind", "fp", "hybrid"] where !(unwind == "fp" && optimization == "-O") {
        let file = output("nested\(optimization)-\(unwind).pb.gz")
        let run = try ProfHarness.prof(["cpu", "--hz", "500", "--unwind", unwind, "-o", file, "--", program, "2"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let (share, leafMs) = shareWithCallers(try traces(file), leaf: "main.burn", callers: Self.nestedChain)
        XCTAssertGreaterThan(leafMs, 200, "\(optimization) \(unwind): burn was sampled")
        XCTAssertGreaterThanOrEqual(share, 0.95, "\(optimization) \(unwind): burn's samples with the whole chain")
      }
    }
  }

  func testAsyncStacksOffLeavesOnlyTheMachineStack() throws {
    let program = try ProfHarness.swiftFixture("async", "nested", into: directory, flags: ["-O"])
    let file = output("off.pb.gz")
    let run = try ProfHarness.prof(["cpu", "--async-stacks", "off", "-o", file, "--", program, "1"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let traces = try traces(file)
    XCTAssertGreaterThan(shareWithCallers(traces, leaf: "main.burn", callers: []).leafMs, 200)
    // handleRequest itself may be sampled (its own partial functions); never as burn's caller.
    XCTAssertFalse(traces.contains { $0.starting(at: "main.burn")?.frames.contains { $0.contains("handleRequest") } ?? false })
  }

  func testTraceTimelinesShowTheAwaitingCallersToo() throws {
    let program = try ProfHarness.swiftFixture("async", "nested", into: directory, flags: ["-O"])
    for asyncStacks in ["on", "off"] {
      let file = output("nested-\(asyncStacks).json")
      let run = try ProfHarness.prof(["trace", "--async-stacks", asyncStacks, "-o", file, "--", program, "1"])
      XCTAssertEqual(run.status, 0, run.stderr)
      let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any]
      let events = try XCTUnwrap(json?["traceEvents"] as? [[String: Any]])
      func microseconds(_ name: String) -> Double {
        events.filter { ($0["name"] as? String)?.hasPrefix(name) ?? false }
          .reduce(0) { $0 + (($1["dur"] as? NSNumber)?.doubleValue ?? 0) }
      }
      let burn = microseconds("main.burn"), handler = microseconds("main.handleRequest")
      XCTAssertGreaterThan(burn, 100_000, "\(asyncStacks): burn is on the timeline")
      // On, burn's slices lie under handleRequest's; off, handleRequest only shows where it ran itself.
      if asyncStacks == "on" {
        XCTAssertGreaterThanOrEqual(handler, 0.95 * burn)
      } else {
        XCTAssertLessThan(handler, 0.2 * burn)
      }
    }
  }

  func testAsyncLetActorHopAndThrowingChainsShowTheirCallers() throws {
    let program = try ProfHarness.swiftFixture("async", "shapes", into: directory, flags: ["-O"])
    let file = output("shapes.pb.gz")
    let run = try ProfHarness.prof(["cpu", "--hz", "500", "-o", file, "--", program, "3"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let traces = try traces(file)
    let expected: [(String, [String])] = [
      ("burnInAsyncLet", ["asyncLetParent"]),  // an async let child task's entry is its implicit closure
      ("burnOnActor", ["actorCaller", "Shapes.main()"]),
      ("burnThrowing", ["throwingCaller", "Shapes.main()"]),
    ]
    for (function, callers) in expected {
      let spinning = traces.filter { $0.frames.first?.contains("main.spin") ?? false }
      let under = spinning.filter { $0.frames.count > 1 && $0.frames[1].contains(function) }
      let total = under.reduce(0) { $0 + $1.value }
      let (share, _) = shareWithCallers(under.map { PprofTrace(value: $0.value, frames: Array($0.frames.dropFirst())) },
                                        leaf: function, callers: callers)
      XCTAssertGreaterThan(total, 50, "\(function) was sampled")
      XCTAssertGreaterThanOrEqual(share, 0.9, "\(function) is followed by \(callers)")
    }
  }

  func testEachRouteHandlerOfAServerShapedProgramIsUnderItsRouterMiddlewareAndRequestLoop() throws {
    let program = try ProfHarness.swiftFixture("async", "router", into: directory, flags: ["-O"])
    let file = output("router.pb.gz")
    let run = try ProfHarness.prof(["cpu", "--hz", "500", "-o", file, "--", program, "2"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let traces = try traces(file)
    let callers = ["Router.respond", "LogMiddleware.handle", "serveConnection", "closure #1 in closure #3 in static main.Server.main()"]
    // itemsHandler spills its context and reuses r14: its callers come from the running task.
    for handler in ["computeHandler", "itemsHandler"] {
      let (share, milliseconds) = PprofTrace.shareWithCallers(traces, of: handler, callers: callers)
      XCTAssertGreaterThan(milliseconds, 50, "\(handler) was sampled")
      XCTAssertGreaterThanOrEqual(share, 0.95, "\(handler) is under \(callers)")
    }
  }

  func testThousandsOfCancelledShortTasksSampledAt1000HzNeitherCrashNorHang() throws {
    let program = try ProfHarness.swiftFixture("async", "soak", into: directory, flags: ["-O"])
    for unwind in ["libunwind", "fp", "hybrid"] {
      let file = output("soak-\(unwind).pb.gz")
      let run = try ProfHarness.prof(["cpu", "--hz", "1000", "--unwind", unwind, "-o", file, "--", program, "2000"])
      XCTAssertEqual(run.status, 0, "\(unwind): \(run.stderr)")
      XCTAssertTrue(run.stdout.hasSuffix("\n"), "the program ran to its end")
      XCTAssertTrue(try traces(file).contains { $0.frames.first?.contains("main.work") ?? false })
    }
  }
}
