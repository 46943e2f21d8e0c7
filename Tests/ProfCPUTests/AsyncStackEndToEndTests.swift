import Foundation
import ProfTestSupport
import XCTest

/// Swift async call stacks (--async-stacks): fixtures/async, read back with
/// `go tool pprof -traces`. The expected chains are the fixtures' own structure.
final class AsyncStackEndToEndTests: OutputDirectoryTestCase {
  /// One stack of `go tool pprof -traces`: its milliseconds and frames, leaf first.
  private struct Trace {
    var milliseconds: Double
    var frames: [String]
  }

  private func traces(_ file: String) throws -> [Trace] {
    let text = try ProfHarness.pprof(["-traces", file]).stdout
    return text.components(separatedBy: "-----------+").compactMap { block in
      var trace = Trace(milliseconds: 0, frames: [])
      for untrimmed in block.split(separator: "\n") where !untrimmed.contains(":  ") {
        let line = untrimmed.trimmingCharacters(in: .whitespaces)
        let fields = line.split(separator: " ", maxSplits: 1)
        if trace.frames.isEmpty, let first = fields.first, first.hasSuffix("ms") || first.hasSuffix("s"),
           fields.count == 2 {
          let number = first.hasSuffix("ms") ? Double(first.dropLast(2)) : Double(first.dropLast()).map { $0 * 1000 }
          guard let number else { continue }
          trace.milliseconds = number
          trace.frames.append(fields[1].trimmingCharacters(in: .whitespaces))
        } else if !trace.frames.isEmpty, !line.isEmpty {
          trace.frames.append(line)
        }
      }
      return trace.frames.isEmpty ? nil : trace
    }
  }

  /// The share of `leaf`'s time whose next frames are `callers`, in order, each frame
  /// containing its text.
  private func shareWithCallers(_ traces: [Trace], leaf: String, callers: [String]) -> (share: Double, leafMs: Double) {
    let leafTraces = traces.filter { $0.frames.first?.contains(leaf) ?? false }
    let total = leafTraces.reduce(0) { $0 + $1.milliseconds }
    let carrying = leafTraces.filter { trace in
      trace.frames.count > callers.count
        && zip(trace.frames.dropFirst(), callers).allSatisfy { $0.contains($1) }
    }.reduce(0) { $0 + $1.milliseconds }
    return (total > 0 ? carrying / total : 0, total)
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
    XCTAssertFalse(traces.contains { $0.frames.contains { $0.contains("handleRequest") } })
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
      let total = under.reduce(0) { $0 + $1.milliseconds }
      let (share, _) = shareWithCallers(under.map { Trace(milliseconds: $0.milliseconds, frames: Array($0.frames.dropFirst())) },
                                        leaf: function, callers: callers)
      XCTAssertGreaterThan(total, 50, "\(function) was sampled")
      XCTAssertGreaterThanOrEqual(share, 0.9, "\(function) is followed by \(callers)")
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
