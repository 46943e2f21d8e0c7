import Foundation
import ProfTestSupport
import XCTest

/// Programs that do what real programs do to a profiler: fixtures in fixtures/hardening.
final class HardeningEndToEndTests: OutputDirectoryTestCase {
  private func fixture(_ name: String) throws -> String {
    try ProfHarness.cFixture("hardening", name, into: directory)
  }

  /// The number in "handled N" the fixture prints: SIGPROFs its own handler saw.
  private func ticksHandled(_ run: ProfHarness.Run) throws -> Int {
    let line = try XCTUnwrap(run.stdout.split(separator: "\n").first { $0.hasPrefix("handled ") }, run.stdout)
    return try XCTUnwrap(Int(line.dropFirst("handled ".count)))
  }

  func testAProgramsOwnSIGPROFHandlerIsReportedAndStillServed() throws {
    for installer in ["sigaction", "signal"] {
      let file = output("own-\(installer).pb.gz")
      let run = try ProfHarness.prof(["cpu", "-o", file, "--", fixture("own_handler"), installer])
      XCTAssertEqual(run.status, 0, run.stderr)
      XCTAssertTrue(run.stderr.contains("the program installed its own SIGPROF handler"), run.stderr)
      XCTAssertTrue(run.stderr.contains("--signal SIGRTMIN+3"), run.stderr)
      XCTAssertGreaterThan(try ticksHandled(run), 80, "its setitimer ticks (100 in 1 s) reach its handler")
      let work = try XCTUnwrap(try ProfHarness.top(file).rows.first { $0.name == "own_handler_work" })
      XCTAssertEqual(work.cum, 1000, accuracy: 150, "prof's own samples are not disturbed")
    }
  }

  func testAProgramThatClosesEveryDescriptorNeverGetsTheStreamInItsFiles() throws {
    let files = directory.appendingPathComponent("files")
    try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
    let run = try ProfHarness.prof(["cpu", "-o", output("closed.pb.gz"), "--", fixture("close_all"), files.path])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertEqual(run.stdout, "bytes in the program's files: 0\n", "the agent wrote into a file that took its stream's number")
  }

  func testAnotherSignalLeavesSIGPROFToTheProgram() throws {
    let file = output("rt.pb.gz")
    let run = try ProfHarness.prof(["cpu", "--signal", "SIGRTMIN+3", "-o", file, "--", fixture("own_handler")])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertFalse(run.stderr.contains("installed its own"), run.stderr)
    XCTAssertGreaterThan(try ticksHandled(run), 80)
    let work = try XCTUnwrap(try ProfHarness.top(file).rows.first { $0.name == "own_handler_work" })
    XCTAssertEqual(work.cum, 1000, accuracy: 150)
  }

  func testTraceWallModeSamplesWithAnotherSignal() throws {
    let file = output("wall.json")
    let profile = output("wall.pb.gz")
    let run = try ProfHarness.prof(["trace", "--mode", "wall", "--signal", "rtmax-2", "--pprof", profile, "-o", file,
                                    "--", fixture("own_handler")])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertFalse(run.stderr.contains("installed its own"), run.stderr)
    XCTAssertGreaterThan(try ticksHandled(run), 80)
    XCTAssertNotNil(try ProfHarness.top(profile).rows.first { $0.name == "own_handler_work" })
  }

  func testSignalsThatAreNotForSamplingAreRefused() throws {
    for signal in ["SIGKILL", "SIGSEGV", "9", "SIGRTMIN+99", "bogus"] {
      let run = try ProfHarness.prof(["cpu", "--signal", signal, "-o", output("x.pb.gz"), "--", "/bin/true"])
      XCTAssertNotEqual(run.status, 0, signal)
      XCTAssertTrue(run.stderr.contains("--signal"), run.stderr)
    }
  }

  func testSmallStacksAndAlternateSignalStacksAreSampled() throws {
    for unwinder in ["libunwind", "fp"] {
      let file = output("small-\(unwinder).pb.gz")
      let run = try ProfHarness.prof(["cpu", "--hz", "1000", "--unwind", unwinder, "-o", file, "--", fixture("small_stacks")])
      XCTAssertEqual(run.status, 0, run.stderr)
      let rows = try ProfHarness.top(file).rows
      for work in ["small_stack_work", "altstack_work"] {
        let row = try XCTUnwrap(rows.first { $0.name == work }, "\(work) with \(unwinder): \(rows)")
        XCTAssertEqual(row.cum, 500, accuracy: 100, work)
      }
    }
  }

  func testThreadsBlockingTheSignalAreNamedWithTheSamplesTheyCost() throws {
    let file = output("blocked.pb.gz")
    let run = try ProfHarness.prof(["cpu", "-o", file, "--", fixture("blocked_threads")])
    XCTAssertEqual(run.status, 0, run.stderr)
    let line = try XCTUnwrap(run.stderr.split(separator: "\n").first { $0.contains("blocked SIGPROF") }, run.stderr)
    XCTAssertTrue(line.contains("2 threads blocked SIGPROF"), String(line))
    XCTAssertTrue(line.contains("blocker (tid ") && line.contains("holder (tid "), "one exited before the end, one did not: \(line)")
    let missed = try XCTUnwrap(line.range(of: "about ").flatMap { Int(line[$0.upperBound...].prefix { $0.isNumber }) })
    XCTAssertEqual(Double(missed), 100, accuracy: 20, "1 s of blocked CPU at 100 Hz: \(line)")
    let main = try XCTUnwrap(try ProfHarness.top(file).rows.first { $0.name == "main_work" })
    XCTAssertEqual(main.cum, 500, accuracy: 100, "unblocked threads are sampled as usual")

    // The profile itself carries the loss: a frame per blocking thread, with its CPU
    // time (measured by its CPU clock, not sampled) and its thread label, and a comment.
    let frame = "[not sampled: thread blocks SIGPROF]"
    let unsampled = try XCTUnwrap(try ProfHarness.top(file).rows.first { $0.name == frame }, "no \(frame)")
    XCTAssertEqual(unsampled.flat, 1000, accuracy: 100, "0.6 s + 0.4 s")
    for (thread, milliseconds) in [("blocker", 600.0), ("holder", 400.0)] {
      let rows = try ProfHarness.top(file, ["-tagfocus=thread_comm=\(thread)"]).rows
      XCTAssertEqual(try XCTUnwrap(rows.first { $0.name == frame }, "\(thread): \(rows)").flat, milliseconds, accuracy: 60, thread)
    }
    let comments = try ProfHarness.pprof(["-comments", file]).stdout
    XCTAssertTrue(comments.contains("2 threads blocked SIGPROF, so 1.0"), comments)
  }
}

/// Thread churn: fixtures/hardening/thread_churn.c under prof cpu and prof heap.
final class ThreadChurnEndToEndTests: OutputDirectoryTestCase {
  /// The fixture's own measurement: "short_ms N long_ms M".
  private func measuredMilliseconds(_ run: ProfHarness.Run) throws -> (short: Double, long: Double) {
    let fields = try XCTUnwrap(run.stdout.split(separator: "\n").first { $0.hasPrefix("short_ms") }, run.stdout)
      .split(separator: " ")
    return (try XCTUnwrap(Double(fields[1])), try XCTUnwrap(Double(fields[3])))
  }

  /// "agent accounting: T signals taken, S samples written, D dropped" from the profile's comments.
  private func accounting(_ file: String) throws -> [Int] {
    let comments = try ProfHarness.pprof(["-comments", file]).stdout
    let line = try XCTUnwrap(comments.split(separator: "\n").first { $0.hasPrefix("agent accounting: ") }, comments)
    return line.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .punctuationCharacters)) }
  }

  func testShortLivedThreadsAreSampledInProportionAndNothingIsLost() throws {
    let file = output("churn.pb.gz")
    let run = try ProfHarness.prof(["cpu", "--hz", "250", "-o", file, "--",
                                    ProfHarness.cFixture("hardening", "thread_churn", into: directory)])
    XCTAssertEqual(run.status, 0, run.stderr)
    let measured = try measuredMilliseconds(run)
    let tags = try ProfHarness.pprof(["-tags", "-unit=ms", file]).stdout
    func sampledMilliseconds(_ name: String) throws -> Double {
      let line = try XCTUnwrap(tags.split(separator: "\n").first { $0.hasSuffix("): \(name)") }, tags)
      return try XCTUnwrap(Double(line.trimmingCharacters(in: .whitespaces).prefix { $0.isNumber || $0 == "." }), String(line))
    }
    XCTAssertEqual(try sampledMilliseconds("short"), measured.short, accuracy: measured.short * 0.15,
                   "2,000 threads of 1 ms each, sampled as their CPU time says:\n\(tags)")
    XCTAssertEqual(try sampledMilliseconds("long"), measured.long, accuracy: measured.long * 0.15, tags)

    let counts = try accounting(file)
    XCTAssertEqual(counts.count, 3)
    XCTAssertEqual(counts[0], counts[1] + counts[2], "taken = written + dropped")
    XCTAssertGreaterThan(counts[1], 500)
    XCTAssertTrue(run.stderr.contains("prof: \(counts[1]) samples (\(counts[2]) dropped)"),
                  "prof received every sample the agent wrote: \(counts)\n\(run.stderr)")
  }

  func testHeapProfilingSurvivesThreadChurn() throws {
    let file = output("churn-heap.pb.gz")
    let run = try ProfHarness.prof(["heap", "--sample-rate", "1", "-o", file, "--",
                                    ProfHarness.cFixture("hardening", "thread_churn", into: directory)])
    XCTAssertEqual(run.status, 0, run.stderr)
    let summary = try XCTUnwrap(run.stderr.split(separator: "\n").first { $0.contains(" allocations, ") }, run.stderr)
    let allocations = try XCTUnwrap(Int(summary.dropFirst("prof: ".count).prefix { $0.isNumber }))
    XCTAssertGreaterThanOrEqual(allocations, 2000, "every short thread's allocation is counted: \(summary)")
    let live = try XCTUnwrap(summary.range(of: " in ", options: .backwards).flatMap { Int(summary[$0.upperBound...].prefix { $0.isNumber }) })
    XCTAssertLessThan(live, 20, "each short thread freed its block (libc keeps a few of its own): \(summary)")
  }
}

extension OutputDirectoryTestCase {
  /// A tmpfs of `size` mounted in the test's directory until the test ends (needs root).
  func mountTmpfs(_ name: String, size: String) throws -> URL {
    guard getuid() == 0 else { throw XCTSkip("mounting a tmpfs needs root") }
    let mount = directory.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: mount, withIntermediateDirectories: true)
    XCTAssertEqual(try ProfHarness.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", mount.path]).status, 0)
    addTeardownBlock { _ = try? ProfHarness.run("/bin/umount", [mount.path]) }
    return mount
  }
}

/// Outputs that cannot be written: a full tmpfs mounted for the test.
final class FullDiskEndToEndTests: OutputDirectoryTestCase {
  func testAFullDiskIsOneClearLineAndLeavesNoFileBehind() throws {
    let mount = try mountTmpfs("full", size: "64k")
    // Filled to the last block: the check that the output can be created still passes.
    _ = try ProfHarness.run("/bin/dd", ["if=/dev/zero", "of=\(mount.path)/filler", "bs=1k", "count=1000"])

    let file = mount.appendingPathComponent("cpu.pb.gz").path
    let run = try ProfHarness.prof(["cpu", "-o", file, "--", ProfHarness.workload("spin"), "0.3"])
    XCTAssertEqual(run.status, 1, run.stderr)
    XCTAssertTrue(run.stderr.contains("Error: cannot write \(file): No space left on device"), run.stderr)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mount.path), ["filler"], "no half-written file")
  }
}

/// Long runs: the output is rewritten with the samples so far every --checkpoint-every.
final class CheckpointEndToEndTests: OutputDirectoryTestCase {
  /// Waits until `path` exists and then `extra` seconds more; false after 20 s.
  private func wait(for path: String, thenSeconds extra: Double) -> Bool {
    for _ in 0..<200 where !FileManager.default.fileExists(atPath: path) { Thread.sleep(forTimeInterval: 0.1) }
    Thread.sleep(forTimeInterval: extra)
    return FileManager.default.fileExists(atPath: path)
  }

  /// The identity of the file at `path` (a checkpoint is renamed into place: each is a new file).
  private func inode(_ path: String) -> UInt64? {
    var status = stat()
    return lstat(path, &status) == 0 ? UInt64(status.st_ino) : nil
  }

  func testProfKilledMidRunLeavesItsLastCheckpoint() throws {
    let spin = try ProfHarness.workload("spin"), churn = try ProfHarness.workload("heap-churn")
    for (mode, program, function) in [("cpu", [spin, "60"], "spin."), ("heap", [churn, "200000000"], "heap_churn.build")] {
      let file = output("long-\(mode).pb.gz"), name = URL(fileURLWithPath: program[0]).lastPathComponent
      var used = 0.0, replaced = false
      let run = try ProfHarness.prof([mode, "--checkpoint-every", "0.5", "-o", file, "--"] + program) { process in
        let target = ProfHarness.child(of: process.processIdentifier, named: name)
        defer {
          kill(process.processIdentifier, SIGKILL)
          if let target { kill(target, SIGKILL) }  // orphaned otherwise
        }
        // Once the program has done a second of work, the second checkpoint after that
        // (the first may have been gathered before) must hold it.
        guard let target, let reached = ProfHarness.waitForCPU(of: target, seconds: 1) else { return }
        used = reached
        for _ in 0..<2 {
          let before = self.inode(file)
          for _ in 0..<600 where self.inode(file) == before { Thread.sleep(forTimeInterval: 0.05) }
          replaced = self.inode(file) != before
        }
      }
      XCTAssertTrue(replaced, "\(mode): a checkpoint was written after \(used) s of the program's work: \(run.stderr)")
      XCTAssertEqual(run.status, 128 + SIGKILL)
      let top = try ProfHarness.pprof(["-top", "-sample_index=1", file]).stdout
      XCTAssertTrue(top.contains(function), "\(mode): the last checkpoint holds the program's work:\n\(top)")
      if mode == "cpu" {
        XCTAssertGreaterThan(try ProfHarness.top(file).totalMs, 800 * used, "the last checkpoint holds the \(used) s spin used before it, less the agent's last flush")
      }
    }
  }

  func testADiskThatFillsMidRunIsReportedWhileTheProgramRunsOn() throws {
    let mount = try mountTmpfs("filling", size: "1m")
    let file = mount.appendingPathComponent("cpu.pb.gz").path
    var checkpoint = Data()
    let run = try ProfHarness.prof(["cpu", "--checkpoint-every", "0.3", "-o", file, "--", ProfHarness.workload("spin"), "2.5"]) { _ in
      XCTAssertTrue(self.wait(for: file, thenSeconds: 0))
      checkpoint = (try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data()
      _ = try? ProfHarness.run("/bin/dd", ["if=/dev/zero", "of=\(mount.path)/filler", "bs=1k", "count=2000"])
    }
    XCTAssertEqual(run.status, 1, "the final write failed: \(run.stderr)")
    XCTAssertTrue(run.stderr.contains("checkpoint failed: cannot write \(file): No space left on device; still profiling"), run.stderr)
    XCTAssertTrue(run.stderr.contains("Error: cannot write \(file): No space left on device"), run.stderr)
    XCTAssertFalse(run.stderr.contains("final flush"), "the program ran to its end: \(run.stderr)")
    XCTAssertEqual(run.stderr.components(separatedBy: "checkpoint failed").count, 2, "reported once: \(run.stderr)")
    XCTAssertGreaterThan(try ProfHarness.top(file).totalMs, 0, "the checkpoint written before the disk filled stays readable")
    XCTAssertFalse(checkpoint.isEmpty)
  }
}

/// scripts/soak's short version: the agent's memory is allocated at start, so the
/// target's RSS (the trace's RSS counter, read at every flush) stays flat at 1000 Hz.
final class SoakEndToEndTests: OutputDirectoryTestCase {
  func testMemoryStaysFlatAt1000Hz() throws {
    let file = output("soak.json")
    let run = try ProfHarness.prof(["trace", "--hz", "1000", "--duration", "4", "-o", file, "--",
                                    ProfHarness.cFixture("hardening", "soak", into: directory)])
    XCTAssertEqual(run.status, 128 + SIGINT, run.stderr)
    let trace = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any]
    let events = try XCTUnwrap(trace?["traceEvents"] as? [[String: Any]])
    let rss = events.filter { $0["name"] as? String == "RSS" }.compactMap { ($0["args"] as? [String: Any])?["bytes"] as? Int }
    XCTAssertGreaterThan(rss.count, 60, "a reading every 50 ms")
    let settled = rss[10...]  // after the first half second
    XCTAssertLessThan(settled.max()! - settled.min()!, 512 * 1024, "RSS grew over the run: \(rss)")
  }
}
