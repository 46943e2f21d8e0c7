import Foundation
import ProfTestSupport
import XCTest

/// A signal that would end prof (a closed terminal's SIGHUP, kill -USR1, ...) goes
/// on to the program; prof writes its output and exits with the program's status,
/// leaving neither the program running nor a temporary file behind.
final class SignalForwardingEndToEndTests: OutputDirectoryTestCase {
  static let signals: [(name: String, number: Int32)] =
    [("SIGHUP", SIGHUP), ("SIGUSR1", SIGUSR1), ("SIGUSR2", SIGUSR2), ("SIGQUIT", SIGQUIT), ("SIGALRM", SIGALRM),
     ("SIGTERM", SIGTERM), ("SIGXCPU", SIGXCPU), ("SIGRTMIN+5", __libc_current_sigrtmin() + 5)]

  /// Runs `prof arguments` on `sleep 60` (a C program: no runtime of its own that
  /// catches signals), sends `signal` to prof once sleep runs, and checks
  /// the end: the program's status, the program gone, no temporary file left.
  func interrupt(_ arguments: [String], with signal: Int32, program: [String] = ["/bin/sleep", "60"],
                 environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws -> ProfHarness.Run {
    let temporary = directory.appendingPathComponent("tmp")
    try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
    var child: pid_t?
    let settings = ["TMPDIR": temporary.path]
    let run = try ProfHarness.prof(arguments + ["--"] + program, environment: environment.merging(settings) { $1 }) { prof in
      child = ProfHarness.child(of: prof.processIdentifier, named: "sleep")
      kill(prof.processIdentifier, signal)
    }
    let pid = try XCTUnwrap(child, "prof never started the program", file: file, line: line)
    XCTAssertEqual(run.status, 128 + signal, "prof ends as the program did: \(run.stderr)", file: file, line: line)
    XCTAssertEqual(kill(pid, 0), -1, "the program \(pid) is not left running", file: file, line: line)
    let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix(".") || $0 == "tmp" }
    XCTAssertEqual(left, ["tmp"], "no temporary output file", file: file, line: line)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: temporary.path), [], "no temporary directory", file: file, line: line)
    return run
  }

  func testCPUWritesTheProfileForEverySignal() throws {
    for (name, signal) in Self.signals {
      let file = output("cpu-\(name).pb.gz")
      let run = try interrupt(["cpu", "--follow-children", "-o", file], with: signal)
      XCTAssertTrue(run.stderr.contains("wrote \(file)"), "\(name): \(run.stderr)")
      _ = try ProfHarness.pprof(["-raw", file])  // go tool pprof reads it
    }
  }

  func testHeapWritesTheProfile() throws {
    for (name, signal) in Self.signals.prefix(5) {
      let file = output("heap-\(name).pb.gz")
      _ = try interrupt(["heap", "--follow-children", "-o", file], with: signal)
      _ = try ProfHarness.pprof(["-raw", file])
    }
  }

  func testTraceWritesTheTrace() throws {
    for (name, signal) in Self.signals.prefix(5) {
      let file = output("trace-\(name).json")
      _ = try interrupt(["trace", "--follow-children", "-o", file], with: signal)
      let trace = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any]
      XCTAssertNotNil(trace?["traceEvents"], name)
    }
  }

  func testRaceReportsAndEndsAsTheProgram() throws {
    for (_, signal) in Self.signals.prefix(5) {
      _ = try interrupt(["race"], with: signal)
    }
  }

  /// A stand-in `swift` on PATH (both build steps do nothing; the bin path is its
  /// directory) and a benchmark `name` there running `script`; the PATH to give prof.
  private func fakeBenchmark(_ name: String, _ script: String) throws -> String {
    let tools = directory.appendingPathComponent("tools")
    try FileManager.default.createDirectory(at: tools, withIntermediateDirectories: true)
    let swift = tools.appendingPathComponent("swift")
    try "#!/bin/sh\ncase \"$*\" in *--show-bin-path*) echo \(tools.path);; esac\n".write(to: swift, atomically: true, encoding: .utf8)
    let benchmark = tools.appendingPathComponent(name)
    try ("#!/bin/sh\n" + script).write(to: benchmark, atomically: true, encoding: .utf8)
    for script in [swift, benchmark] { chmod(script.path, 0o755) }
    return tools.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
  }

  /// prof bench run's steps (swift build twice, then the benchmark), so that the
  /// benchmark, a result line then `sleep 60`, is what gets the signal: the result
  /// printed before it is saved (it was dropped).
  func testBenchRunEndsAsTheBenchmark() throws {
    let result = "BenchmarkSleep-2\t10\t100 ns/op\n"
    let path = try fakeBenchmark("Sleeps", "printf '\(result)'\nexec /bin/sleep 60\n")
    for (name, signal) in Self.signals.prefix(5) {
      let file = output("bench-\(name).txt")
      let run = try interrupt(["bench", "run", "Sleeps", "-o", file], with: signal, program: [], environment: ["PATH": path])
      XCTAssertEqual(try? String(contentsOfFile: file, encoding: .utf8), result, "\(name): \(run.stderr)")
    }
  }

  /// A benchmark that handles SIGHUP and exits 7: prof exits 7 (it was 1) with the results saved.
  func testBenchRunEndsWithTheStatusOfABenchmarkThatHandlesTheSignal() throws {
    let path = try fakeBenchmark("Traps", """
      echo 'BenchmarkTrap-2 10 100 ns/op'
      trap 'exit 7' HUP
      while :; do /bin/sleep 0.05; done

      """)
    let file = output("trap.txt")
    let run = try ProfHarness.prof(["bench", "run", "Traps", "-o", file], environment: ["PATH": path]) { prof in
      // A sleep of the loop: the trap is set.
      guard let benchmark = ProfHarness.child(of: prof.processIdentifier, named: "Traps"),
            ProfHarness.child(of: benchmark, named: "sleep") != nil else { return }
      kill(prof.processIdentifier, SIGHUP)
    }
    XCTAssertEqual(run.status, 7, run.stderr)
    XCTAssertEqual(try? String(contentsOfFile: file, encoding: .utf8), "BenchmarkTrap-2 10 100 ns/op\n", run.stderr)
  }

  /// The agent of `prof run` listens on /tmp/prof-UID/PID.sock and removes it at its
  /// exit, which a signal skips: prof removes it whatever ended the program (it was left).
  func testRunRemovesTheControlSocketWhenASignalEndsTheProgram() throws {
    for (name, signal) in [("SIGTERM to prof", SIGTERM), ("SIGHUP to prof", SIGHUP), ("SIGUSR1 to prof", SIGUSR1),
                           ("SIGQUIT to prof", SIGQUIT), ("SIGKILL to the program", SIGKILL)] {
      var socket: String?
      let run = try ProfHarness.prof(["run", "--", "/bin/sleep", "60"]) { prof in
        guard let program = ProfHarness.child(of: prof.processIdentifier, named: "sleep") else { return }
        let path = "/tmp/prof-\(geteuid())/\(program).sock"
        for _ in 0..<1000 where !FileManager.default.fileExists(atPath: path) { usleep(10_000) }
        if FileManager.default.fileExists(atPath: path) { socket = path }
        kill(signal == SIGKILL ? program : prof.processIdentifier, signal)
      }
      let path = try XCTUnwrap(socket, "\(name): the agent never listened")
      XCTAssertEqual(run.status, 128 + signal, "\(name): \(run.stderr)")
      XCTAssertFalse(FileManager.default.fileExists(atPath: path), "\(name): \(path) is left")
    }
  }
}
