import Foundation
import ProfTestSupport
import XCTest

/// prof in hostile surroundings: standard streams closed or full, outputs that
/// cannot be written, arguments that are not what they look like.
final class SurroundingsEndToEndTests: OutputDirectoryTestCase {
  /// A program that exits with 3 after a little work, so that prof has a summary to say.
  private let exitsWith3 = ["/bin/sh", "-c", "i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; exit 3"]

  /// prof run by a shell with `redirections` applied (e.g. "2>&-").
  private func prof(_ arguments: [String], redirections: String) throws -> ProfHarness.Run {
    try ProfHarness.run("/bin/sh", ["-c", "exec \"$0\" \"$@\" \(redirections)", ProfHarness.prof] + arguments)
  }

  /// A small pprof file made by prof itself from folded stacks.
  private func smallProfile() throws -> String {
    let folded = output("small.folded"), profile = output("small.pb.gz")
    try "main;work 5\nmain;idle 3\n".write(toFile: folded, atomically: true, encoding: .utf8)
    let run = try ProfHarness.prof(["convert", folded, "--to", "pprof", "-o", profile])
    XCTAssertEqual(run.status, 0, run.stderr)
    return profile
  }

  func testClosedOrFullStderrNeverCostsTheProgramsStatus() throws {
    for redirections in ["2>&-", "2>/dev/full", "0<&- 1>&- 2>&-"] {
      for mode in ["cpu", "heap", "trace"] {
        let file = output("\(mode).out")
        let run = try prof([mode, "-o", file, "--"] + exitsWith3, redirections: redirections)
        XCTAssertEqual(run.status, 3, "prof \(mode) \(redirections): \(run.stderr)")
        if mode != "trace" { _ = try ProfHarness.pprof(["-raw", file]) }  // a whole profile, no warnings in it
      }
    }
  }

  func testProgramsGetSIGPIPEsDefaultActionThoughProfIgnoresIt() throws {
    // An ignored signal would stay ignored across exec, and sh would survive its own SIGPIPE.
    let program = ["/bin/sh", "-c", "kill -PIPE $$"]
    for arguments in [["cpu", "-o", output("pipe.pb.gz"), "--"], ["heap", "-o", output("pipe.pb.gz"), "--"],
                      ["trace", "-o", output("pipe.json"), "--"], ["race", "--"]] {
      let run = try ProfHarness.prof(arguments + program)
      XCTAssertEqual(run.status, 128 + SIGPIPE, "\(arguments): \(run.stderr)")
    }
  }

  func testHelpAndVersionThatCannotBeWrittenAreExit1() throws {
    for arguments in [["--help"], ["--version"], ["cpu", "--help"]] {
      let run = try prof(arguments, redirections: ">/dev/full")
      XCTAssertEqual(run.status, 1, "\(arguments)")
      XCTAssertEqual(run.stderr, "Error: cannot write to standard output: No space left on device\n", "\(arguments)")
    }
  }

  /// Help printed through stdio to a stdout closed at start is lost: exit 1, as for a full one.
  func testHelpAndVersionToAClosedStandardOutputAreExit1() throws {
    for arguments in [["--help"], ["--version"], ["top", "--help"]] {
      let run = try prof(arguments, redirections: ">&-")
      XCTAssertEqual(run.status, 1, "\(arguments)")
      XCTAssertEqual(run.stderr, "Error: cannot write to standard output: Bad file descriptor\n", "\(arguments)")
    }
  }

  /// Two outputs of one command naming one file: the second would replace the first,
  /// and prof said it wrote both. Refused before the program runs.
  func testOutputsThatNameTheSameFileAreRefusedBeforeTheRun() throws {
    let trace = output("t.json"), block = output("b.pb.gz"), report = output("r.json")
    let sameDirectory = directory.appendingPathComponent("sub/..").path  // resolved, it is the directory
    try FileManager.default.createDirectory(at: directory.appendingPathComponent("sub"), withIntermediateDirectories: true)
    let cases: [([String], String)] = [
      (["trace", "--pprof", trace, "-o", trace], "Error: --pprof must name another file than -o (both name \(trace))"),
      (["trace", "-o", trace, "--pprof", sameDirectory + "/t.json"], "Error: --pprof must name another file than -o (both name \(trace))"),
      (["block", "--mutex-profile", sameDirectory + "/b.pb.gz", "-o", block],
       "Error: --mutex-profile must name another file than -o (both name \(block))"),
      (["race", "--json", report, "--sarif", sameDirectory + "/r.json"],
       "Error: --sarif must name another file than --json (both name \(report))"),
    ]
    for (arguments, message) in cases {
      let marker = output("ran")
      let run = try ProfHarness.prof(arguments + ["--", "/bin/sh", "-c", "touch \(marker)"])
      XCTAssertEqual(run.status, 64, "\(arguments): \(run.stderr)")
      XCTAssertEqual(firstLine(run), message, "\(arguments)")
      XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "\(arguments): the program did not run")
    }
    let relative = try ProfHarness.run("/bin/sh", ["-c", "cd \(directory.path) && exec \"$0\" trace --pprof t.json -o ./t.json -- /bin/true",
                                                     ProfHarness.prof])
    XCTAssertEqual(relative.status, 64, relative.stderr)
    XCTAssertTrue(relative.stderr.hasPrefix("Error: --pprof must name another file than -o"), relative.stderr)
  }

  func testAReaderGoneFromStandardOutputEndsProfQuietly() throws {
    let profile = try smallProfile()
    for arguments in [["top", profile], ["--help"]] {
      var ends: [Int32] = [0, 0]
      XCTAssertEqual(pipe(&ends), 0)
      close(ends[0])  // nobody will ever read
      let process = Process()
      process.executableURL = URL(fileURLWithPath: ProfHarness.prof)
      process.arguments = arguments
      process.standardOutput = FileHandle(fileDescriptor: ends[1], closeOnDealloc: true)
      let errors = output("stderr")
      XCTAssertTrue(FileManager.default.createFile(atPath: errors, contents: nil))
      process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
      try process.run()
      process.waitUntilExit()
      XCTAssertEqual(process.terminationReason, .uncaughtSignal, "\(arguments)")
      XCTAssertEqual(process.terminationStatus, SIGPIPE, "\(arguments)")
      XCTAssertEqual(try String(contentsOfFile: errors, encoding: .utf8), "", "\(arguments): no message")
    }
  }

  func testWithStderrClosedTheOutputFileNeverReceivesWarnings() throws {
    // A symbolizer that cannot run: "cannot symbolize" is said while the output is open.
    let busy = ["/bin/sh", "-c", "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; exit 3"]
    for redirections in ["2>&-", "0<&- 1>&- 2>&-"] {
      let file = output("closed.pb.gz")
      let run = try ProfHarness.run("/usr/bin/env", ["PROF_LLVM_SYMBOLIZER=/nonexistent", "/bin/sh", "-c",
                                                     "exec \"$0\" \"$@\" \(redirections)", ProfHarness.prof,
                                                     "cpu", "-o", file, "--"] + busy)
      XCTAssertEqual(run.status, 3, redirections)
      let raw = try ProfHarness.pprof(["-raw", file]).stdout
      XCTAssertTrue(raw.contains("PeriodType: cpu nanoseconds"), "\(redirections): \(raw)")
    }
  }

  func testUnwritableStandardOutputIsOneLineAndExit1() throws {
    let profile = try smallProfile()
    for arguments in [["top", profile], ["convert", profile, "--to", "folded"], ["diff", profile, profile],
                      ["list", "work", profile]] {
      let run = try prof(arguments, redirections: ">/dev/full")
      XCTAssertEqual(run.status, 1, "\(arguments)")
      XCTAssertEqual(run.stderr, "Error: cannot write to standard output: No space left on device\n", "\(arguments)")
      let closed = try prof(arguments, redirections: ">&-")
      XCTAssertEqual(closed.status, 1, "\(arguments)")
      XCTAssertEqual(closed.stderr, "Error: cannot write to standard output: Bad file descriptor\n", "\(arguments)")
      // Both streams unusable: still exit 1, never a trap.
      XCTAssertEqual(try prof(arguments, redirections: ">/dev/full 2>/dev/full").status, 1, "\(arguments)")
    }
  }

  func testOutputsThatCannotBeWrittenAreRefusedBeforeTheProgramRuns() throws {
    let work = directory.appendingPathComponent("work")
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    let marker = output("ran")
    let program = ["/bin/sh", "-c", "touch \(marker)"]
    let profile = try smallProfile()
    for (destination, message) in [("", "cannot write \"\": the file name is empty"),
                                   (directory.path, "cannot write \(directory.path): it is a directory"),
                                   ("/dev/null", "cannot write /dev/null: not a regular file"),
                                   ("missing/out", "cannot write missing/out: No such file or directory")] {
      for arguments in [["cpu", "-o", destination, "--"] + program, ["heap", "-o", destination, "--"] + program,
                        ["trace", "-o", destination, "--"] + program, ["trace", "--pprof", destination, "--"] + program,
                        ["flame", profile, "-o", destination], ["convert", profile, "--to", "pprof", "-o", destination]] {
        let run = try ProfHarness.run("/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", work.path, ProfHarness.prof] + arguments)
        XCTAssertEqual(run.status, 1, "\(arguments): \(run.stderr)")
        XCTAssertTrue(run.stderr.hasPrefix("Error: \(message)"), "\(arguments): \(run.stderr)")
        XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count, 1, run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "\(arguments): the program ran")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.path), [], "\(arguments): files left behind")
      }
    }
  }

  func testATinyDurationStillLimitsTheRun() throws {
    // 1e-10 s is below a nanosecond: rounded down it would be 0, "no limit", and spin would run its 30 s.
    let run = try ProfHarness.prof(["cpu", "--duration", "1e-10", "-o", output("tiny.pb.gz"), "--",
                                    ProfHarness.workload("spin"), "30"])
    XCTAssertEqual(run.status, 130, "stopped by --duration, then SIGINT: \(run.stderr)")
    _ = try ProfHarness.pprof(["-raw", output("tiny.pb.gz")])
  }

  /// The first line of stderr, for refusals that ArgumentParser follows with usage.
  private func firstLine(_ run: ProfHarness.Run) -> String { String(run.stderr.split(separator: "\n").first ?? "") }

  func testMisleadingMessagesSayWhatIsWrong() throws {
    let script = output("badinterp.sh")  // exists, but its interpreter does not
    try "#!/nonexistent/interp\necho hi\n".write(toFile: script, atomically: true, encoding: .utf8)
    chmod(script, 0o755)
    let year = "a year (31622400 s)"
    let cases: [([String], String)] = [
      (["cpu", "--", directory.path], "Error: \(directory.path) is a directory, not a program"),
      (["top", "/dev/null"], "Error: /dev/null: the file is empty, not a profile"),
      (["top", directory.path], "Error: cannot read \(directory.path): Is a directory"),
      (["cpu", "--hz", "-1", "--", "/bin/true"], "Error: --hz must be between 1 and 5000"),
      (["trace", "--hz", "-1", "--", "/bin/true"], "Error: --hz must be between 1 and 5000"),
      (["top", "-n", "-1", "x"], "Error: -n must be at least 1"),
      (["cpu", "--duration", "-1", "--", "/bin/true"], "Error: --duration must be more than 0 and at most \(year)"),
      (["cpu", "--duration", "1e8", "--", "/bin/true"], "Error: --duration must be more than 0 and at most \(year)"),
      (["heap", "--snapshot-every", "-1", "--", "/bin/true"], "Error: --snapshot-every must be more than 0 and at most \(year)"),
      (["cpu", "--checkpoint-every", "-1", "--", "/bin/true"],
       "Error: --checkpoint-every must be between 0 (only at the end) and \(year)"),
      (["trace", "--lock-wait-threshold", "-1ms", "--", "/bin/true"],
       "Error: --lock-wait-threshold must be a Go duration between 0 and 1h, such as 500us, 1.5ms, 2s or 1m30s"),
      (["top", "--sample-index", "-1", "x"], "Error: --sample-index must be a sample type's name or position (0, 1, ...), not -1"),
      (["cpu", "--pid", "-1"], "Error: --pid must be a process id (a positive number), not -1"),
      (["threads", "--pid", "-1"], "Error: --pid must be a process id (a positive number), not -1"),
      (["bench", "compare", "--floor", "NaN", "a", "b"], "Error: --floor must be a finite number, not nan"),
      (["bench", "compare", "--threshold", "-1", "a", "b"], "Error: --threshold must not be negative"),
      (["bench", "compare", "--threshold", "inf", "a", "b"], "Error: --threshold must be a finite number, not inf"),
      (["cpu", "-o", output("interp.pb.gz"), "--", script],
       "Error: cannot start \(script): its #! interpreter /nonexistent/interp does not exist"),
      (["bench", "compare", "/nonexistent.txt", "b"],
       "prof bench: error: /nonexistent.txt: cannot read file: No such file or directory"),
    ]
    for (arguments, message) in cases {
      let run = try ProfHarness.prof(arguments)
      XCTAssertNotEqual(run.status, 0, "\(arguments)")
      XCTAssertEqual(firstLine(run), message, "\(arguments)")
    }
    for command in ["cpu", "trace"] {
      let help = try ProfHarness.prof([command, "--help"]).stdout
      XCTAssertTrue(help.contains("(default: SIGPROF)"), help)
    }
  }

  func testCPUOfChildrenThatWereNotProfiledIsToldApart() throws {
    let spin = try ProfHarness.workload("spin")
    let run = try ProfHarness.prof(["cpu", "-o", output("parent.pb.gz"), "--", "/bin/sh", "-c", "\(spin) 0.5; \(spin) 0.5"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let line = try XCTUnwrap(run.stderr.split(separator: "\n").first { $0.contains("s CPU sampled of") }, run.stderr)
    func seconds(before marker: String) throws -> Double {
      let prefix = try XCTUnwrap(line.range(of: marker).map { line[..<$0.lowerBound] }, String(line))
      return try XCTUnwrap(Double(prefix.split(separator: " ").last ?? ""), String(line))
    }
    let used = try seconds(before: " s used"), children = try seconds(before: " s more, not profiled")
    XCTAssertTrue(line.contains("--follow-children profiles them"), String(line))
    XCTAssertLessThan(used, children, "the shell's own CPU, apart from the spins it waited for: \(line)")
  }

  func testAStaticProgramExecdFromAWrapperIsNotBlamedOnACrash() throws {
    let program = try ProfHarness.cFixture("hardening", "static_work", into: directory, flags: ["-static"])
    let run = try ProfHarness.prof(["cpu", "-o", output("static.pb.gz"), "--", "/bin/sh", "-c", "exec \(program)"])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stderr.contains("prof: the program exec'd static_work, which ran without prof's agent (statically linked"),
                  run.stderr)
    XCTAssertFalse(run.stderr.contains("crash") || run.stderr.contains("killed"), run.stderr)
    let killed = try ProfHarness.prof(["cpu", "-o", output("killed.pb.gz"), "--", "/bin/sh", "-c", "kill -9 $$"])
    XCTAssertEqual(killed.status, 137)
    XCTAssertTrue(killed.stderr.contains("prof: the program was killed by signal 9 (Killed) before the agent's final flush"),
                  killed.stderr)
  }

  func testASignalThatEndsProfLeavesNoTemporaryFile() throws {
    let work = directory.appendingPathComponent("work")
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    let folded = output("big.folded")  // long enough to convert that the signal comes first
    try (0..<300_000).map { "main;work\($0 % 1000);leaf\($0) 1\n" }.joined().write(toFile: folded, atomically: true, encoding: .utf8)
    let converted = work.appendingPathComponent("out.pb.gz").path
    // Every signal that ends prof, not only those of a terminal: SIGQUIT has the Swift
    // runtime's handler (it was ignored), the others had no handler (the file was left).
    for signal in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, __libc_current_sigrtmin() + 3] {
      let run = try ProfHarness.prof(["convert", folded, "--to", "pprof", "-o", converted]) { process in
        // Once the temporary file exists, prof is reading its input.
        for _ in 0..<600 where (try? FileManager.default.contentsOfDirectory(atPath: work.path))?.isEmpty ?? true {
          Thread.sleep(forTimeInterval: 0.05)
        }
        kill(process.processIdentifier, signal)
      }
      XCTAssertEqual(run.status, 128 + signal, run.stderr)
      XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.path), [], "signal \(signal)")
    }
  }
}
