import Foundation
import ProfTestSupport
import XCTest

/// Swift async call stacks in the modes whose stacks the agent's hooks take (heap,
/// block, mutex) and in the thread dump: fixtures/async/allocating.swift allocates
/// and waits for a lock in `allocate` <- leafWork <- middle <- handleRequest <- a
/// task group child. The expected chain is the fixture's own structure.
final class AsyncHookStackEndToEndTests: OutputDirectoryTestCase {
  private static let chain = ["leafWork", "middle", "handleRequest", "closure #1 in closure #1 in static main.Allocating.main()"]

  /// The share of the value of stacks through `main.allocate` whose frames after it are the chain.
  private func shareWithChain(_ file: String, sampleIndex: String) throws -> (share: Double, value: Double) {
    PprofTrace.shareWithCallers(try PprofTrace.of(file, ["-sample_index=\(sampleIndex)"]), of: "main.allocate", callers: Self.chain)
  }

  func testAllocationBytesInANestedAsyncFunctionCarryTheAwaitingChainInBothBuildsAndUnwinders() throws {
    for optimization in ["-O", "-Onone"] {
      let program = try ProfHarness.swiftFixture("async", "allocating", into: directory, flags: [optimization])
      // fp with -O: the leaf has no frame pointer, so its async frame is not on the walk (docs/async-stacks.md).
      for unwind in ["libunwind", "fp"] where !(unwind == "fp" && optimization == "-O") {
        let file = output("heap\(optimization)-\(unwind).pb.gz")
        let run = try ProfHarness.prof(["heap", "--unwind", unwind, "-o", file, "--", program, "1"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let (share, bytes) = try shareWithChain(file, sampleIndex: "alloc_space")
        XCTAssertGreaterThan(bytes, 100_000_000, "\(optimization) \(unwind): allocate's blocks were sampled")
        XCTAssertGreaterThanOrEqual(share, 0.95, "\(optimization) \(unwind): allocate's bytes with the whole chain")
      }
    }
  }

  func testBlockAndMutexWaitsInANestedAsyncFunctionCarryTheAwaitingChain() throws {
    let program = try ProfHarness.swiftFixture("async", "allocating", into: directory, flags: ["-O"])
    for mode in ["block", "mutex"] {
      let file = output("\(mode).pb.gz")
      let run = try ProfHarness.prof([mode, "-o", file, "--", program, "1", "contend"])
      XCTAssertEqual(run.status, 0, run.stderr)
      let (share, delay) = try shareWithChain(file, sampleIndex: "delay")
      XCTAssertGreaterThan(delay, 50, "\(mode): allocate's lock was waited for (ms)")
      XCTAssertGreaterThanOrEqual(share, 0.95, "\(mode): allocate's delay with the whole chain")
    }
  }

  func testAsyncStacksOffLeavesOnlyTheMachineStackInHeapBlockAndMutex() throws {
    let program = try ProfHarness.swiftFixture("async", "allocating", into: directory, flags: ["-O"])
    for mode in ["heap", "block", "mutex"] {
      let file = output("\(mode)-off.pb.gz")
      let run = try ProfHarness.prof([mode, "--async-stacks", "off", "-o", file, "--", program, "1", "contend"])
      XCTAssertEqual(run.status, 0, run.stderr)
      let traces = try PprofTrace.of(file)
      XCTAssertTrue(traces.contains { $0.frames.contains { $0.contains("main.allocate") } }, "\(mode): allocate is there")
      XCTAssertFalse(traces.contains { $0.starting(at: "main.allocate")?.frames.contains { $0.contains("handleRequest") } ?? false },
                     "\(mode): no awaiting callers")
    }
  }

  func testThousandsOfCancelledShortTasksUnderTheHooksNeitherCrashNorHang() throws {
    let program = try ProfHarness.swiftFixture("async", "soak", into: directory, flags: ["-O"])
    for (mode, settings) in [("heap", ["--sample-rate", "4096", "--unwind", "libunwind"]), ("heap", ["--sample-rate", "4096", "--unwind", "fp"]),
                             ("block", ["--rate", "1"])] {
      let file = output("soak-\(mode)-\(settings.last!).pb.gz")
      let run = try ProfHarness.prof([mode] + settings + ["-o", file, "--", program, "2000"])
      XCTAssertEqual(run.status, 0, "\(mode) \(settings): \(run.stderr)")
      XCTAssertTrue(run.stdout.hasSuffix("\n"), "the program ran to its end")
      XCTAssertFalse(try PprofTrace.of(file).isEmpty, "\(mode) \(settings): a readable profile")
    }
  }

  func testTheThreadDumpFollowsAThreadInAnAsyncFunctionToItsAwaitingCallers() throws {
    let program = try ProfHarness.swiftFixture("async", "allocating", into: directory, flags: ["-O"])
    let agent = try ProfHarness.prof(["agent"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = ["20", "contend"]
    process.environment = ProcessInfo.processInfo.environment.merging(["LD_PRELOAD": agent]) { $1 }
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    defer { process.terminate() }
    let socket = "/tmp/prof-\(geteuid())/\(process.processIdentifier).sock"
    for _ in 0..<500 where !FileManager.default.fileExists(atPath: socket) { usleep(10_000) }
    for asyncStacks in ["on", "off"] {
      // A dump is one instant: on a busy machine every thread may be elsewhere, so
      // dump again (at most ten times) until one is in allocate.
      var dump = ""
      var inAllocate: [ArraySlice<Substring>] = []
      for _ in 0..<10 where inAllocate.isEmpty {
        let run = try ProfHarness.prof(["threads", "--async-stacks", asyncStacks, "--pid", String(process.processIdentifier)])
        XCTAssertEqual(run.status, 0, run.stderr)
        dump = run.stdout
        // Each thread's functions, leaf first, without the file:line lines.
        let threads = run.stdout.components(separatedBy: "\n\n").map { $0.split(separator: "\n").filter { !$0.hasPrefix("\t") } }
        inAllocate = threads.compactMap { functions in functions.firstIndex { $0.hasPrefix("main.allocate") }.map { functions[$0...] } }
      }
      XCTAssertFalse(inAllocate.isEmpty, "\(asyncStacks): a thread was in allocate\n\(dump)")
      for functions in inAllocate {
        let callers = Array(functions.dropFirst().prefix(Self.chain.count))
        if asyncStacks == "on" {
          XCTAssertTrue(zip(callers, Self.chain).allSatisfy { $0.contains($1) } && callers.count == Self.chain.count, "\(callers)")
        } else {
          XCTAssertFalse(functions.contains { $0.contains("handleRequest") }, "\(functions)")
        }
      }
    }
  }
}
