import Foundation
import ProfTestSupport
import XCTest

/// Runs `prof heap` on the Swift fixtures and on C fixtures (fixtures/heap, built
/// here with cc) and reads the profiles back with go tool pprof. Lives beside the
/// CPU tests to share their harness.
final class HeapProfileEndToEndTests: OutputDirectoryTestCase {
  /// fixtures/heap/NAME.c, compiled with the toolchain's clang, without optimisation so every call stays.
  private func cFixture(_ name: String, flags: [String] = []) throws -> String {
    let source = ProfHarness.packageRoot.appendingPathComponent("fixtures/heap/\(name).c").path
    let binary = output(name)
    let build = try ProfHarness.run("/usr/bin/env", ["clang", "-O0", "-g"] + flags + ["-o", binary, source, "-lpthread"])
    guard build.status == 0 else { throw HarnessError("clang \(name).c failed:\n\(build.stderr)") }
    return binary
  }

  private func heap(_ arguments: [String], file: String) throws -> ProfHarness.Run {
    let run = try ProfHarness.prof(["heap", "-o", file] + arguments)
    XCTAssertEqual(run.status, 0, run.stderr)
    return run
  }

  /// Per function of `go tool pprof -top`, flat and cum of one sample type, in bytes or counts.
  private func top(_ file: String, _ sampleIndex: String) throws -> [String: (flat: Int64, cum: Int64)] {
    let text = try ProfHarness.pprof(["-top", "-nodecount=10000", "-nodefraction=0", "-unit=B",
                                      "-sample_index=\(sampleIndex)", file]).stdout
    var rows: [String: (Int64, Int64)] = [:]
    for line in text.split(separator: "\n") {
      let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
      func value(_ field: Substring) -> Int64? { Int64(field.hasSuffix("B") ? field.dropLast() : field) }
      guard fields.count == 6, let flat = value(fields[0]), let cum = value(fields[3]) else { continue }
      rows[fields[5].trimmingCharacters(in: .whitespaces)] = (flat, cum)
    }
    return rows
  }

  private static let leakBlocks = "heap_leak.leakBlocks(into: Swift.UnsafeMutableBufferPointer<Swift.Optional<Swift.UnsafeMutableRawPointer>>, size: Swift.Int)"

  func testExactModeAttributesEveryLeakedByteToTheLeakingFunction() throws {
    let file = output("leak.pb.gz")
    let run = try heap(["--sample-rate", "1", "--", ProfHarness.workload("heap-leak"), "3000", "1000"], file: file)
    let inUse = try top(file, "inuse_space")
    XCTAssertEqual(try XCTUnwrap(inUse[Self.leakBlocks], "\(inUse.keys.sorted())").cum, 3000 * 1000)
    XCTAssertEqual(try top(file, "inuse_objects")[Self.leakBlocks]?.cum, 3000)
    let churn = "heap_leak.churn(count: Swift.Int, size: Swift.Int)"
    XCTAssertEqual(try top(file, "alloc_objects")[churn]?.cum, 3000)
    XCTAssertEqual(try top(file, "inuse_objects")[churn]?.cum ?? 0, 0, "churn frees everything")
    XCTAssertFalse(inUse.keys.contains { $0.hasPrefix("swift_slowAlloc") || $0.hasPrefix("prof_") || $0 == "malloc" },
                   "runtime and agent frames fold away: \(inUse.keys.sorted())")

    let raw = try ProfHarness.pprof(["-raw", file]).stdout
    XCTAssertTrue(raw.contains("alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes"), raw)
    XCTAssertTrue(raw.contains("PeriodType: space bytes\nPeriod: 1"), raw)
    XCTAssertTrue(raw.contains("bytes:[1000]"), "average block size label")
    XCTAssertTrue(try ProfHarness.pprof(["-top", file]).stdout.contains("Type: inuse_space"), "no default sample type")
    let topLeak = try XCTUnwrap(run.stderr.split(separator: "\n").first { $0.contains("2.9 MiB in 3000 blocks: ") }, run.stderr)
    XCTAssertTrue(topLeak.contains("heap_leak.leakBlocks(into:"), String(topLeak))

    // The exact totals agree with the profile: allocations - frees = blocks in use.
    let totals = try XCTUnwrap(run.stderr.split(separator: "\n").first { $0.contains(" frees, ") }, run.stderr)
    let numbers = totals.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    let blocks = try XCTUnwrap(Int(totals.split(separator: " in ").last?.prefix { $0.isNumber } ?? ""), String(totals))
    XCTAssertEqual(numbers[0] - numbers[1], blocks, String(totals))
    XCTAssertGreaterThanOrEqual(numbers[1], 3000, "churn's 3000 frees: \(totals)")
  }

  func testDefaultRateEstimatesALargeLeakWithinTenPercent() throws {
    let file = output("sampled.pb.gz")
    // 256 blocks of 1 MiB: each is sampled with probability 1-exp(-2), so the
    // estimate's standard deviation is 2.5% and 10% is four of them.
    let run = try heap(["--", ProfHarness.workload("heap-leak"), "256", "1048576"], file: file)
    let leaked = Double(try XCTUnwrap(try top(file, "inuse_space")[Self.leakBlocks]).cum)
    XCTAssertEqual(leaked, 256 * 1_048_576, accuracy: 0.10 * 256 * 1_048_576)
    XCTAssertTrue(try ProfHarness.pprof(["-raw", file]).stdout.contains("Period: 524288"))
    XCTAssertTrue(run.stderr.contains("the sampled stacks hold"), run.stderr)
    // The blocks in use come from the exact counters: the 256 leaked, and the runtime's.
    let inUse = try XCTUnwrap(run.stderr.components(separatedBy: "in use at exit ").dropFirst().first?.prefix { $0.isNumber })
    XCTAssertGreaterThanOrEqual(Int(inUse) ?? 0, 256, run.stderr)
  }

  func testEveryHookedFunctionIsCountedExactly() throws {
    let file = output("hooks.pb.gz")
    _ = try heap(["--sample-rate", "1", "--", try cFixture("every_hook")], file: file)
    let allocations = try top(file, "alloc_objects")
    let expected: [String: Int64] = [
      "call_malloc": 100, "call_calloc": 100, "call_realloc": 200, "call_reallocarray": 200,
      "call_failed_realloc": 100, "call_posix_memalign": 100, "call_aligned_alloc": 100, "call_memalign": 100,
      "call_valloc": 100, "call_pvalloc": 100, "leak_blocks": 25,
    ]
    for (function, count) in expected {
      XCTAssertEqual(allocations[function]?.flat, count, function)
    }
    let inUse = try top(file, "inuse_space")
    XCTAssertEqual(inUse["leak_blocks"]?.flat, 25 * 1000)
    for function in expected.keys where function != "leak_blocks" {
      XCTAssertEqual(inUse[function]?.flat ?? 0, 0, "\(function) frees all it allocates (realloc(p, 0) included)")
    }
    XCTAssertEqual(try top(file, "alloc_space")["call_realloc"]?.flat, 100 * (16 + 4096))
  }

  /// fixtures/heap/mixed_sizes.c: 100,000 x 64 B (kept) and 100 x 1 MiB (freed) from one call site.
  func testAMixedSizeCallSiteCountsEveryBlock() throws {
    let program = try cFixture("mixed_sizes")
    let exact = output("mixed-exact.pb.gz")
    _ = try heap(["--sample-rate", "1", "--", program], file: exact)
    XCTAssertEqual(try top(exact, "alloc_objects")["allocate_mixed"]?.flat, 100_100)
    XCTAssertEqual(try top(exact, "alloc_space")["allocate_mixed"]?.flat, 100_000 * 64 + 100 * 1_048_576)
    XCTAssertEqual(try top(exact, "inuse_objects")["allocate_mixed"]?.flat, 100_000)
    XCTAssertEqual(try top(exact, "inuse_space")["allocate_mixed"]?.flat, 100_000 * 64)

    // Each block of s bytes is sampled with probability p = 1 - exp(-s/rate) and
    // counts 1/p: the estimate's variance is the sum of (1 - p)/p over the blocks.
    func standardDeviation(_ blocks: [(count: Double, size: Double)], rate: Double) -> Double {
      blocks.reduce(0) { sum, block in
        let p = -expm1(-block.size / rate)
        return sum + block.count * (1 - p) / p
      }.squareRoot()
    }
    for rate in [4096, 512 * 1024] {
      let file = output("mixed-\(rate).pb.gz")
      _ = try heap(["--sample-rate", String(rate), "--", program], file: file)
      let allocated = Double(try XCTUnwrap(try top(file, "alloc_objects")["allocate_mixed"]).flat)
      let allocatedError = standardDeviation([(100_000, 64), (100, 1_048_576)], rate: Double(rate))
      XCTAssertEqual(allocated, 100_100, accuracy: 4 * allocatedError, "rate \(rate)")
      let inUse = Double(try top(file, "inuse_objects")["allocate_mixed"]?.flat ?? 0)
      XCTAssertEqual(inUse, 100_000, accuracy: 4 * standardDeviation([(100_000, 64)], rate: Double(rate)), "rate \(rate)")
      // At the default rate 4 standard deviations reach below zero; but a single
      // sampled 64 B block (missed with probability exp(-12.2)) counts 8192, where
      // scaling the stack by its mean sampled size, as Go does, gives about 110.
      XCTAssertGreaterThan(allocated, 8000, "rate \(rate)")
    }
  }

  func testFramePointerStacksAttributeLikeLibunwind() throws {
    var byFunction: [[String: (flat: Int64, cum: Int64)]] = []
    for unwinder in ["libunwind", "fp"] {
      let file = output("\(unwinder).pb.gz")
      _ = try heap(["--sample-rate", "1", "--unwind", unwinder, "--", ProfHarness.workload("heap-leak"), "3000", "1000"], file: file)
      let inUse = try top(file, "inuse_space")
      XCTAssertEqual(inUse[Self.leakBlocks]?.cum, 3000 * 1000, "\(unwinder): \(inUse.keys.sorted())")
      byFunction.append(try top(file, "alloc_objects"))
    }
    for function in [Self.leakBlocks, "heap_leak.churn(count: Swift.Int, size: Swift.Int)", "heap_leak_main"] {
      XCTAssertEqual(byFunction[0][function]?.cum, byFunction[1][function]?.cum, function)
    }
  }

  func testThreadsFreeingEachOthersBlocksAddUp() throws {
    let file = output("threads.pb.gz")
    _ = try heap(["--sample-rate", "1", "--", try cFixture("threads")], file: file)
    XCTAssertEqual(try top(file, "alloc_objects")["produce"]?.flat, 8 * 20000)
    XCTAssertEqual(try top(file, "inuse_objects")["produce"]?.flat ?? 0, 0, "every block freed by another thread")
    XCTAssertEqual(try top(file, "inuse_space")["leak_in_thread"]?.flat, 8 * 10 * 512)
  }

  func testExactTotalsIncludeShortLivedThreads() throws {
    let run = try heap(["--", try cFixture("short_threads")], file: output("short.pb.gz"))
    let totals = try XCTUnwrap(run.stderr.split(separator: "\n").first { $0.hasPrefix("prof: ") && $0.contains(" allocations, ") })
    let allocations = try XCTUnwrap(Int(totals.dropFirst(6).prefix { $0.isNumber }), String(totals))
    XCTAssertTrue((2000...2100).contains(allocations), "200 threads x 10 allocations, and a few of the runtime's: \(totals)")
  }

  func testUnderscoreExitKeepsTheData() throws {
    let file = output("exit.pb.gz")
    _ = try heap(["--sample-rate", "1", "--", ProfHarness.workload("heap-leak"), "100", "1000", "exit"], file: file)
    XCTAssertEqual(try top(file, "inuse_objects")[Self.leakBlocks]?.cum, 100)
  }

  func testASIGKILLedTargetKeepsWhatTheLastPeriodicFlushSent() throws {
    let file = output("killed.pb.gz")
    let run = try ProfHarness.prof(["heap", "--sample-rate", "1", "-o", file, "--",
                                    ProfHarness.workload("heap-leak"), "100", "1000", "sleep"]) { process in
      Thread.sleep(forTimeInterval: 1)
      _ = try? ProfHarness.run("/usr/bin/pkill", ["-KILL", "-P", String(process.processIdentifier)])
    }
    XCTAssertEqual(run.status, 128 + SIGKILL, run.stderr)
    XCTAssertTrue(run.stderr.contains("killed by signal 9 (Killed) before the agent's final flush"), run.stderr)
    XCTAssertEqual(try top(file, "inuse_objects")[Self.leakBlocks]?.cum, 100)
  }

  func testACrashKeepsWhatWasRecordedSinceTheLastFlush() throws {
    let file = output("crash.pb.gz")
    // Without Swift's backtracer, which would keep the process alive long enough for a periodic flush.
    let run = try ProfHarness.prof(["heap", "--sample-rate", "1", "-o", file, "--",
                                    ProfHarness.workload("heap-leak"), "100", "1000", "crash"],
                                   environment: ["SWIFT_BACKTRACE": "enable=no"])
    XCTAssertEqual(run.status, 128 + SIGSEGV, run.stderr)
    XCTAssertEqual(try top(file, "inuse_objects")[Self.leakBlocks]?.cum, 100, "flushed from the SIGSEGV, not 50 ms later")
  }

  /// The replaced image's allocations stay in the profile; its blocks are no longer
  /// in use (the kernel dropped its memory at the exec).
  func testExecKeepsWhatTheReplacedImageRecorded() throws {
    let file = output("exec.pb.gz")
    _ = try heap(["--sample-rate", "1", "--", try cFixture("exec_after_leak")], file: file)
    XCTAssertEqual(try top(file, "alloc_objects")["leak_before_exec"]?.flat, 50)
    XCTAssertEqual(try top(file, "inuse_objects")["leak_before_exec"]?.flat ?? 0, 0, "nothing of it in use after the exec")
  }

  /// A shell wrapper that execs the program: the program goes on with the wrapper's
  /// stream, so every block it allocates is in the profile, the summary counts both
  /// images, and nothing blames a missing agent.
  func testAProgramExecdFromAWrapperIsProfiled() throws {
    let program = try cFixture("mixed_sizes")
    let file = output("wrapped.pb.gz")
    let run = try heap(["--sample-rate", "1", "--", "/bin/sh", "-c", "exec \"$0\"", program], file: file)
    XCTAssertEqual(try top(file, "alloc_objects")["allocate_mixed"]?.flat, 100_100)
    XCTAssertEqual(try top(file, "inuse_objects")["allocate_mixed"]?.flat, 100_000)
    XCTAssertFalse(run.stderr.contains("ran without prof's agent"), run.stderr)
    let summary = try XCTUnwrap(run.stderr.firstMatch(of: try Regex(#"prof: (\d+) allocations, (\d+) frees"#)), run.stderr)
    let allocations = try XCTUnwrap(Int(summary.output[1].substring!))
    XCTAssertGreaterThan(allocations, 100_100, "the program's allocations and the shell's: \(run.stderr)")
    XCTAssertTrue(try ProfHarness.pprof(["-top", file]).stdout.contains("File: mixed_sizes\n"), "the program that ran last comes first")
  }

  /// A static program exec'd from a wrapper has no agent: the stream ends with the
  /// wrapper's image, and prof says so (not a crash).
  func testAStaticProgramExecdFromAWrapperIsNamed() throws {
    let program = try ProfHarness.cFixture("hardening", "static_work", into: directory, flags: ["-static"])
    let run = try heap(["--sample-rate", "1", "--", "/bin/sh", "-c", "exec \"$0\"", program], file: output("static-exec.pb.gz"))
    XCTAssertTrue(run.stderr.contains("prof: the program exec'd static_work, which ran without prof's agent (statically linked"),
                  run.stderr)
  }

  func testChildrenWriteNothingUnlessFollowedThenOneFileEach() throws {
    let program = try cFixture("follow")
    let plain = try heap(["--sample-rate", "1", "--", program], file: output("plain.pb.gz"))
    let parent = try top(output("plain.pb.gz"), "inuse_objects")
    XCTAssertEqual(parent["parent_leak"]?.flat, 20)
    XCTAssertNil(parent["child_leak"])
    let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
    XCTAssertFalse(files.contains { $0.hasPrefix("plain.") && $0 != "plain.pb.gz" }, "\(files)")

    let followed = try heap(["--follow-children", "--sample-rate", "1", "--", program], file: output("f.pb.gz"))
    let pids = followed.stdout.split(separator: "\n")
    XCTAssertEqual(pids.count, 2, followed.stdout + plain.stdout)
    XCTAssertEqual(try top(output("f.pb.gz"), "inuse_objects")["parent_leak"]?.flat, 20)
    XCTAssertEqual(try top(output("f.\(pids[0]).pb.gz"), "inuse_objects")["child_leak"]?.flat, 30)
    XCTAssertEqual(try top(output("f.\(pids[1]).pb.gz"), "inuse_objects")["exec_leak"]?.flat, 40,
                   "the image after exec goes on in its process's file")
    let streams = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("f.") }
    XCTAssertEqual(Set(streams), Set(["f.pb.gz"] + pids.map { "f.\($0).pb.gz" }))
  }

  func testForkingWhileThreadsAllocateNeitherHangsNorLosesChildren() throws {
    let program = try cFixture("fork_storm")
    for followed in [false, true] {
      let file = output("storm-\(followed).pb.gz")
      let started = Date()
      _ = try heap(["--sample-rate", "1"] + (followed ? ["--follow-children"] : []) + ["--", program], file: file)
      XCTAssertLessThan(Date().timeIntervalSince(started), 30)
      let written = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("storm-\(followed).") }
      XCTAssertEqual(written.count, followed ? 21 : 1, "\(written)")
    }
  }

  func testSnapshotsAreNumberedProfiles() throws {
    let file = output("snap.pb.gz")
    let run = try heap(["--snapshot-every", "0.05", "--", ProfHarness.workload("heap-churn"), "3000000"], file: file)
    XCTAssertTrue(FileManager.default.fileExists(atPath: output("snap.1.pb.gz")), run.stderr)
    _ = try ProfHarness.pprof(["-top", "-base", output("snap.1.pb.gz"), file])
  }

  func testStaticBinariesAreRefused() throws {
    let program = try cFixture("threads", flags: ["-static"])
    let run = try ProfHarness.prof(["heap", "-o", output("static.pb.gz"), "--", program])
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(run.stderr.contains("statically linked"), run.stderr)
  }
}
