import Foundation
import ProfTestSupport
import XCTest

/// Profiles the fixtures with the real prof binary and reads the result with go tool pprof.
final class CPUProfileEndToEndTests: OutputDirectoryTestCase {
  func testHotFunctionsAreDemangledWithFileAndLine() throws {
    let file = output("spin.pb.gz")
    let run = try ProfHarness.prof(["cpu", "-o", file, "--", ProfHarness.workload("spin"), "1.5"])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertEqual(try ProfHarness.run("/usr/bin/env", ["go", "tool", "pprof", "-raw", file]).status, 0, "pprof parses it")

    let lines = try ProfHarness.pprof(["-top", "-lines", file]).stdout
    let hot = try XCTUnwrap(lines.split(separator: "\n").first { $0.contains("spin.hotLoop(Swift.Int) ") },
                            "hotLoop missing:\n\(lines)")
    let location = try XCTUnwrap(hot.split(separator: " ").last)
    XCTAssertTrue(location.contains("fixtures/workloads/Sources/spin/main.swift:"), String(location))
    let line = try XCTUnwrap(Int(location.split(separator: ":").last!))
    XCTAssertTrue((7...14).contains(line), "hotLoop spans lines 7-14 of main.swift, got \(line)")

    let top = try ProfHarness.top(file)
    let cold = try XCTUnwrap(top.rows.first { $0.name == "spin.coldLoop(Swift.Int)" })
    XCTAssertEqual(cold.cum / top.totalMs, 0.25, accuracy: 0.10, "coldLoop does a quarter of the work")
    XCTAssertFalse(top.rows.contains { $0.name.contains("prof_") || $0.name.contains("unw_") }, "agent frames leaked")

    let used = try XCTUnwrap(run.stdout.split(separator: "=").last.flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
    XCTAssertEqual(top.totalMs / 1000, used, accuracy: used * 0.10, "sampled CPU within 10% of the CPU the child used")
    XCTAssertTrue(run.stderr.contains("samples (0 dropped)"), run.stderr)
    XCTAssertTrue(run.stderr.contains("go tool pprof -http=: \(file)"), run.stderr)
  }

  func testEachThreadIsLabelledAndSampledInProportion() throws {
    let file = output("threads.pb.gz")
    let run = try ProfHarness.prof(["cpu", "-o", file, "--", ProfHarness.workload("two-threads"), "150000000"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let tags = try ProfHarness.pprof(["-tags", file]).stdout
    var share: [String: Double] = [:]
    for line in tags.split(separator: "\n") {
      guard let open = line.firstIndex(of: "("), let close = line.range(of: "%): ") else { continue }
      share[String(line[close.upperBound...])] = Double(line[line.index(after: open)..<close.lowerBound])
    }
    XCTAssertEqual(try XCTUnwrap(share["alpha"], tags), 25, accuracy: 10)
    XCTAssertEqual(try XCTUnwrap(share["beta"], tags), 75, accuracy: 10)

    let alpha = try ProfHarness.top(file, ["-tagfocus=thread_comm=alpha"]).rows.map(\.name)
    XCTAssertTrue(alpha.contains("two_threads.alphaWork(Swift.Int)"), "\(alpha)")
    XCTAssertFalse(alpha.contains("two_threads.betaWork(Swift.Int)"), "\(alpha)")
  }

  /// gperftools' libprofiler on the same program: both attribute its 3:1 split of
  /// CPU time between heavy() and light() alike, and sample the same share of the
  /// CPU time each run used.
  func testAttributionAgreesWithGperftools() throws {
    let libprofiler = "/usr/lib/x86_64-linux-gnu/libprofiler.so.0"
    guard FileManager.default.fileExists(atPath: libprofiler) else {
      throw XCTSkip("gperftools missing: apt-get install libgoogle-perftools4 (scripts/install-deps --test does)")
    }
    let program = try ProfHarness.cFixture("cpu", "split", into: directory)
    let ours = output("split.pb.gz"), theirs = output("split.gperf")
    // 19,200 rounds of 0.1 ms, not 120 of 4 ms (a round as long as the tick aliases with
    // it); about 500 samples each: the two shares then differ with a sigma of 2.8 points.
    let prof = try ProfHarness.prof(["cpu", "--hz", "250", "-o", ours, "--", program, "19200", "25000"])
    XCTAssertEqual(prof.status, 0, prof.stderr)
    let gperf = try ProfHarness.run(program, ["19200", "25000"], environment: [
      "LD_PRELOAD": libprofiler, "CPUPROFILE": theirs, "CPUPROFILE_FREQUENCY": "250"])
    XCTAssertEqual(gperf.status, 0, gperf.stderr)
    // The CPU time each run used: the same work costs more of it on a busy machine.
    func used(_ run: ProfHarness.Run) throws -> Double {
      try XCTUnwrap(run.stdout.split(separator: "=").last.flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }, run.stdout)
    }

    // Shares of the flat total: gperftools' legacy profiles carry no "Total samples" line.
    func shares(_ top: (totalMs: Double, rows: [(flat: Double, cum: Double, name: String)])) -> (total: Double, [String: Double]) {
      let total = top.rows.map(\.flat).reduce(0, +)
      return (total, Dictionary(top.rows.filter { ["heavy", "light"].contains($0.name) }.map { ($0.name, $0.flat / total) }) { $1 })
    }
    let (ourTotal, mine) = shares(try ProfHarness.top(ours))
    let (theirTotal, reference) = shares(try ProfHarness.top(theirs, [program]))
    for function in ["heavy", "light"] {
      let (a, b) = (try XCTUnwrap(mine[function], "\(mine)"), try XCTUnwrap(reference[function], "\(reference)"))
      XCTAssertEqual(a, b, accuracy: 0.08, "\(function): prof \(a), gperftools \(b)")
    }
    XCTAssertEqual(try XCTUnwrap(mine["heavy"]), 0.75, accuracy: 0.08)
    let (ourShare, theirShare) = (ourTotal / (try used(prof)), theirTotal / (try used(gperf)))
    XCTAssertEqual(ourShare, theirShare, accuracy: 0.15 * theirShare, "the same share of each run's CPU time")
  }

  func testSamplesInTheKernelsVDSOAreNamed() throws {
    let program = try ProfHarness.cFixture("cpu", "clock_loop", into: directory)
    let file = output("clock.pb.gz")
    let run = try ProfHarness.prof(["cpu", "-o", file, "--", program])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertFalse(run.stderr.contains("cannot symbolize"), run.stderr)
    let top = try ProfHarness.top(file)
    let vdso = try XCTUnwrap(top.rows.first { $0.name.contains("vdso_clock_gettime") }, "\(top.rows)")
    XCTAssertGreaterThan(vdso.flat, top.totalMs / 2, "most of the time is in the vDSO's clock_gettime")
  }

  func testFramePointerUnwindingGivesTheSameStacks() throws {
    let file = output("fp.pb.gz")
    let run = try ProfHarness.prof(["cpu", "--unwind", "fp", "-o", file, "--", ProfHarness.workload("spin"), "1"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let top = try ProfHarness.top(file)
    let cold = try XCTUnwrap(top.rows.first { $0.name == "spin.coldLoop(Swift.Int)" })
    XCTAssertEqual(cold.cum / top.totalMs, 0.25, accuracy: 0.10)
    let main = try XCTUnwrap(top.rows.first { $0.name == "spin_main" })
    XCTAssertGreaterThan(main.cum / top.totalMs, 0.9, "frame-pointer stacks reach main")
  }

  func testExitStatusIsTheChildsStatus() throws {
    let run = try ProfHarness.prof(["cpu", "-o", output("exit.pb.gz"), "--", ProfHarness.workload("exit-code"), "3"])
    XCTAssertEqual(run.status, 3, run.stderr)
    XCTAssertTrue(FileManager.default.fileExists(atPath: output("exit.pb.gz")))
  }

  func testACrashingChildStillYieldsItsProfile() throws {
    let file = output("crash.pb.gz")
    let run = try ProfHarness.prof(["cpu", "-o", file, "--", ProfHarness.workload("crash"), "600000000"],
                                   environment: ["SWIFT_BACKTRACE": "enable=no"])
    XCTAssertEqual(run.status, 139, "128 + SIGSEGV: \(run.stderr)")
    let top = try ProfHarness.top(file)
    let work = try XCTUnwrap(top.rows.first { $0.name == "crash.workBeforeCrash(Swift.Int)" })
    XCTAssertGreaterThan(work.cum, 100, "the work before the crash is in the profile")
  }

  func testDurationStopsSamplingThenInterruptsTheChild() throws {
    let file = output("duration.pb.gz")
    let started = Date()
    var used = 0.0  // spin's CPU time when last seen, just before the SIGINT ended it
    let run = try ProfHarness.prof(["cpu", "--duration", "1", "-o", file, "--", ProfHarness.workload("spin"), "60"]) { process in
      guard let spin = ProfHarness.child(of: process.processIdentifier, named: "spin") else { return }
      while let now = ProfHarness.cpuSeconds(of: spin) { used = now; usleep(5_000) }
    }
    XCTAssertEqual(run.status, 130, "the child died of the SIGINT prof sent: \(run.stderr)")
    XCTAssertLessThan(Date().timeIntervalSince(started), 30)
    let top = try ProfHarness.top(file)
    // One thread sampled for one second of wall time: at most a second of CPU and no
    // more than spin used, however little a busy machine gave it (its start-up and
    // the moment between the stop and the SIGINT are not sampled).
    XCTAssertLessThanOrEqual(top.totalMs, 1300, "sampling stopped after a second")
    XCTAssertLessThanOrEqual(top.totalMs, 1000 * used + 20, "spin used \(used) s")
    XCTAssertTrue(top.rows.contains { $0.name == "spin.hotLoop(Swift.Int)" }, "spin was sampled: \(top.rows)")
  }

  func testSIGTERMIsForwardedAndTheProfileStillWritten() throws {
    let file = output("term.pb.gz")
    var used = 0.0
    let run = try ProfHarness.prof(["cpu", "-o", file, "--", ProfHarness.workload("spin"), "60"]) { process in
      used = self.waitForSpin(under: process, toUse: 1)
      kill(process.processIdentifier, SIGTERM)
    }
    XCTAssertEqual(run.status, 143, run.stderr)
    XCTAssertGreaterThan(try ProfHarness.top(file).totalMs, 900 * used, "every second spin used before the signal: \(used) s")
  }

  func testSecondsThatAreNotANumberOfSecondsAreOneErrorLine() throws {
    for (command, option, value) in [("cpu", "--duration", "inf"), ("cpu", "--checkpoint-every", "1e300"),
                                     ("heap", "--snapshot-every", "nan"), ("trace", "--duration", "-1")] {
      let run = try ProfHarness.prof([command, "\(option)=\(value)", "-o", output("x"), "--", "/bin/true"])
      XCTAssertEqual(run.status, 64, run.stderr)
      let rule = option == "--checkpoint-every" ? "between 0 (only at the end) and" : "more than 0 and at most"
      XCTAssertEqual(run.stderr.split(separator: "\n").first, "Error: \(option) must be \(rule) a year (31622400 s)")
    }
    let rate = try ProfHarness.prof(["heap", "--sample-rate", String(Int.max), "-o", output("x"), "--", "/bin/true"])
    XCTAssertEqual(rate.stderr.split(separator: "\n").first, "Error: --sample-rate must be between 1 byte and 1 TiB")
  }

  func testMissingCommandFailsBeforeRunning() throws {
    let run = try ProfHarness.prof(["cpu", "-o", output("none.pb.gz"), "--", "no-such-command-here"])
    XCTAssertNotEqual(run.status, 0)
    XCTAssertEqual(run.stderr, "Error: command not found: no-such-command-here\n")
    XCTAssertFalse(FileManager.default.fileExists(atPath: output("none.pb.gz")))
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [], "no temporary file left")
  }

  func testStaticBinaryIsRefused() throws {
    let source = output("static.c"), binary = output("static")
    try "int main(void) { return 0; }\n".write(toFile: source, atomically: true, encoding: .utf8)
    XCTAssertEqual(try ProfHarness.run("/usr/bin/env", ["cc", "-static", "-o", binary, source]).status, 0)
    let run = try ProfHarness.prof(["cpu", "-o", output("s.pb.gz"), "--", binary])
    XCTAssertEqual(run.status, 1)
    XCTAssertEqual(run.stderr, "Error: \(binary) is statically linked (no PT_INTERP): the profiler cannot be preloaded into it\n")
  }

  func testUnwritableOutputFailsBeforeRunning() throws {
    let marker = output("ran")
    let run = try ProfHarness.prof(["cpu", "-o", "/nonexistent-dir/cpu.pb.gz", "--", "/usr/bin/touch", marker])
    XCTAssertEqual(run.status, 1)
    XCTAssertEqual(run.stderr, "Error: cannot write /nonexistent-dir/cpu.pb.gz: No such file or directory\n")
    XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the command must not have run")
  }

  func testLibrariesLoadedLaterWithDlopenAreSymbolized() throws {
    let library = output("libplugin.so"), program = output("host")
    try "double plugin_spin(long n) { double x = 0; for (long i = 0; i < n; i++) x += i * 0.5; return x; }\n"
      .write(toFile: output("plugin.c"), atomically: true, encoding: .utf8)
    try """
      #include <dlfcn.h>
      #include <stdio.h>
      int main(int argc, char **argv) {
        void *plugin = dlopen(argv[1], RTLD_NOW);
        if (!plugin) { fprintf(stderr, "%s\\n", dlerror()); return 2; }
        double (*spin)(long) = (double (*)(long))dlsym(plugin, "plugin_spin");
        return spin(600000000L) == 42.0;
      }
      """.write(toFile: output("host.c"), atomically: true, encoding: .utf8)
    XCTAssertEqual(try ProfHarness.run("/usr/bin/env", ["cc", "-O1", "-g", "-shared", "-fPIC", "-o", library, output("plugin.c")]).status, 0)
    XCTAssertEqual(try ProfHarness.run("/usr/bin/env", ["cc", "-O1", "-g", "-o", program, output("host.c"), "-ldl"]).status, 0)
    let file = output("plugin.pb.gz")
    let run = try ProfHarness.prof(["cpu", "-o", file, "--", program, library])
    XCTAssertEqual(run.status, 0, run.stderr)
    let lines = try ProfHarness.pprof(["-top", "-lines", file]).stdout
    XCTAssertTrue(lines.contains("plugin_spin \(output("plugin.c")):1"), lines)
    let raw = try ProfHarness.pprof(["-raw", file]).stdout
    XCTAssertTrue(raw.contains(library), "the dlopened library is a mapping:\n\(raw)")
  }

  func testATargetKilledWithSIGKILLLeavesWhatWasFlushed() throws {
    let file = output("killed.pb.gz")
    var used = 0.0
    let run = try ProfHarness.prof(["cpu", "-o", file, "--", ProfHarness.workload("spin"), "60"]) { process in
      used = self.waitForSpin(under: process, toUse: 1)
      _ = try? ProfHarness.run("/usr/bin/pkill", ["-KILL", "-P", String(process.processIdentifier)])
    }
    XCTAssertEqual(run.status, 137, "128 + SIGKILL: \(run.stderr)")
    XCTAssertTrue(run.stderr.contains("killed by signal 9 (Killed) before the agent's final flush"), run.stderr)
    // The agent flushes every 50 ms: all but the last moments before the kill are there.
    XCTAssertGreaterThan(try ProfHarness.top(file).totalMs, 600 * used, "spin used \(used) s before the kill")
  }

  /// The CPU seconds (at least `seconds`) that the spin prof runs has used, once it
  /// has: a busy machine takes longer to give it, and the test waits for it. Fails,
  /// and lets the test's signal end the run, when spin never got there.
  private func waitForSpin(under prof: Process, toUse seconds: Double) -> Double {
    guard let spin = ProfHarness.child(of: prof.processIdentifier, named: "spin"),
          let used = ProfHarness.waitForCPU(of: spin, seconds: seconds) else {
      XCTFail("spin never used \(seconds) s of CPU")
      return 0
    }
    return used
  }

  func testAStrayPreloadOfTheAgentIsInert() throws {
    let agent = URL(fileURLWithPath: ProfHarness.prof).deletingLastPathComponent().appendingPathComponent("libProfAgent.so").path
    for environment in [["LD_PRELOAD": agent], ["LD_PRELOAD": agent, "PROF_AGENT_FD": "999"]] {
      let run = try ProfHarness.run("/bin/sh", ["-c", "echo ok; ls /proc/self/fd | wc -l"], environment: environment)
      XCTAssertEqual(run.status, 0)
      XCTAssertEqual(run.stdout.split(separator: "\n").first, "ok")
      XCTAssertEqual(run.stderr, "")
    }
  }

  func testAStreamNobodyReadsNeverKillsTheProgram() throws {
    // prof gone (killed) before the program's first write: a pipe without a reader.
    let agent = URL(fileURLWithPath: ProfHarness.prof).deletingLastPathComponent().appendingPathComponent("libProfAgent.so").path
    let script = "( sleep 0.3; PROF_AGENT_FD=4 PROF_HZ=100 LD_PRELOAD=\(agent) /bin/sleep 0.2; echo status=$? >&2 ) 4>&1 | true"
    let run = try ProfHarness.run("/bin/sh", ["-c", script])
    XCTAssertEqual(run.stderr, "status=0\n", "not 141, SIGPIPE")
  }

  func testOutputNeverFollowsAPlantedSymlinkAndIsWorldReadable() throws {
    let victim = output("victim"), file = output("planted.pb.gz")
    try "precious\n".write(toFile: victim, atomically: true, encoding: .utf8)
    try FileManager.default.createSymbolicLink(atPath: file, withDestinationPath: victim)
    let run = try ProfHarness.prof(["cpu", "-o", file, "--", ProfHarness.workload("exit-code"), "0"])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "precious\n")
    let attributes = try FileManager.default.attributesOfItem(atPath: file)
    XCTAssertEqual(attributes[.type] as? FileAttributeType, .typeRegular, "the symlink was replaced, not followed")
    XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0, 0o644 & ~Int(Self.umask))
  }

  private static let umask: mode_t = {
    let mask = Glibc.umask(0)
    _ = Glibc.umask(mask)
    return mask
  }()

  func testHelpExplainsEveryOptionWithExamples() throws {
    let root = try ProfHarness.prof(["--help"])
    XCTAssertEqual(root.status, 0)
    for command in ["cpu", "heap", "trace", "top", "flame", "bench", "race"] {
      XCTAssertTrue(root.stdout.contains("  \(command) "), "prof --help lists \(command)")
    }
    let options = ["cpu": ["--output", "--hz", "--duration", "--unwind", "--follow-children", "--merge"],
                   "trace": ["--output", "--hz", "--mode", "--pprof", "--heap", "--max-size"],
                   "heap": ["--output", "--sample-rate", "--follow-children", "--merge"]]
    for (command, flags) in options {
      let help = try ProfHarness.prof([command, "--help"])
      XCTAssertEqual(help.status, 0, help.stderr)
      XCTAssertTrue(help.stdout.contains("Examples:"), "\(command) --help has examples")
      for flag in flags { XCTAssertTrue(help.stdout.contains(flag), "\(command) --help explains \(flag)") }
    }
  }

  func testAProgramExecdInPlaceIsProfiledButChildrenAreNot() throws {
    let spin = try ProfHarness.workload("spin")
    let exec = output("exec.pb.gz"), child = output("child.pb.gz")
    // A wrapper that execs the real program, as shell scripts and shims do.
    let wrapped = try ProfHarness.prof(["cpu", "-o", exec, "--", "/bin/sh", "-c", "exec \(spin) 1"])
    XCTAssertEqual(wrapped.status, 0, wrapped.stderr)
    let top = try ProfHarness.top(exec)
    XCTAssertEqual(top.totalMs, 1000, accuracy: 200, "the exec'd program's second of CPU")
    XCTAssertTrue(top.rows.contains { $0.name == "spin.hotLoop(Swift.Int)" })
    XCTAssertTrue(try ProfHarness.pprof(["-top", exec]).stdout.contains("File: spin"), "mapping[0] is the program that ran last")
    // A forked child is another process: not profiled without being asked.
    let forked = try ProfHarness.prof(["cpu", "-o", child, "--", "/bin/sh", "-c", "\(spin) 1; true"])
    XCTAssertEqual(forked.status, 0, forked.stderr)
    XCTAssertLessThan(try ProfHarness.top(child).totalMs, 100)
  }

  func testAnyDynamicProgramCanBeProfiled() throws {
    let file = output("sh.pb.gz")
    let run = try ProfHarness.prof(["cpu", "-o", file, "--", "/bin/sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertGreaterThan(try ProfHarness.top(file).totalMs, 0)
  }
}
