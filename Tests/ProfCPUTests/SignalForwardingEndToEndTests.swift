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

  /// prof bench run's steps (swift build twice, then the benchmark) with a stand-in
  /// `swift` on PATH, so that the benchmark, `sleep 60`, is what gets the signal.
  func testBenchRunEndsAsTheBenchmark() throws {
    let tools = directory.appendingPathComponent("tools")
    try FileManager.default.createDirectory(at: tools, withIntermediateDirectories: true)
    let swift = tools.appendingPathComponent("swift")
    try "#!/bin/sh\ncase \"$*\" in *--show-bin-path*) echo \(tools.path);; esac\n".write(to: swift, atomically: true, encoding: .utf8)
    let benchmark = tools.appendingPathComponent("Sleeps")
    try "#!/bin/sh\nexec /bin/sleep 60\n".write(to: benchmark, atomically: true, encoding: .utf8)
    for script in [swift, benchmark] { chmod(script.path, 0o755) }
    let path = tools.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    for (_, signal) in Self.signals.prefix(5) {
      _ = try interrupt(["bench", "run", "Sleeps", "-o", output("bench.txt")], with: signal, program: [],
                        environment: ["PATH": path])
    }
  }
}
