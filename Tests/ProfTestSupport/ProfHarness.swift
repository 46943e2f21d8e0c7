import Foundation
import XCTest

/// Runs the real prof binary and real readers (go tool pprof) the way a user does:
/// the one harness of the end-to-end tests (cpu, heap, trace, reports, bench, race).
public enum ProfHarness {
  public struct Run {
    public var arguments: [String]
    public var status: Int32
    public var stdout: String
    public var stderr: String

    /// Throws with the command and its stderr unless it exited 0.
    public func succeeded() throws {
      guard status == 0 else { throw HarnessError("\(arguments.joined(separator: " ")) exited \(status):\n\(stderr)") }
    }
  }

  public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// prof sits beside the test bundle in the build directory.
  public static let prof = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    .deletingLastPathComponent().appendingPathComponent("prof").path

  /// fixtures/workloads built in release mode, once per test run.
  public static let workloads: Result<URL, Error> = Result {
    let package = packageRoot.appendingPathComponent("fixtures/workloads")
    let build = try run("/usr/bin/env", ["swift", "build", "-c", "release", "--package-path", package.path])
    guard build.status == 0 else { throw HarnessError("building fixtures failed:\n\(build.stderr)\(build.stdout)") }
    return package.appendingPathComponent(".build/release")
  }

  public static func workload(_ name: String) throws -> String {
    try workloads.get().appendingPathComponent(name).path
  }

  public static func temporaryDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prof-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
  }

  /// Runs `executable`, in `directory` if given, with `environment` added to the
  /// tests' own; `whileRunning` may act on the process (send it signals).
  @discardableResult
  public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                         in directory: URL? = nil, whileRunning: ((Process) -> Void)? = nil) throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let outputs = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: outputs) }
    // Files, not pipes: a chatty child can never block on a full pipe.
    let out = outputs.appendingPathComponent("stdout"), err = outputs.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    whileRunning?(process)
    process.waitUntilExit()
    let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    return Run(arguments: [executable] + arguments, status: status, stdout: try String(contentsOf: out, encoding: .utf8),
               stderr: try String(contentsOf: err, encoding: .utf8))
  }

  /// The child of `parent` whose program is `name` (/proc's comm), once it runs;
  /// nil if none did within a minute or `parent` ended.
  public static func child(of parent: pid_t, named name: String) -> pid_t? {
    for _ in 0..<6000 {
      guard let children = try? String(contentsOfFile: "/proc/\(parent)/task/\(parent)/children", encoding: .utf8) else { return nil }
      for pid in children.split(separator: " ").compactMap({ pid_t($0) }) {
        let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)
        if comm?.trimmingCharacters(in: .whitespacesAndNewlines) == name { return pid }
      }
      usleep(10_000)
    }
    return nil
  }

  /// A command found on PATH, as a shell runs it.
  @discardableResult
  public static func command(_ words: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> Run {
    try run("/usr/bin/env", words, environment: environment, in: directory)
  }

  /// The path of `tool` on PATH. A missing tool skips a local run but fails in CI,
  /// where .ci/run installs it.
  public static func requireTool(_ tool: String, package: String) throws -> String {
    let which = try command(["which", tool])
    if which.status == 0 { return which.stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
    if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail("\(tool) is missing: apt-get install \(package)") }
    throw XCTSkip("\(tool) is missing: apt-get install \(package)")
  }

  /// fixtures/DIRECTORY/NAME.c compiled with the toolchain's clang into `directory`.
  public static func cFixture(_ directory: String, _ name: String, into output: URL, flags: [String] = []) throws -> String {
    let source = packageRoot.appendingPathComponent("fixtures/\(directory)/\(name).c").path
    let binary = output.appendingPathComponent(name).path
    let build = try run("/usr/bin/env", ["clang", "-O0", "-g"] + flags + ["-o", binary, source, "-lpthread"])
    guard build.status == 0 else { throw HarnessError("clang \(name).c failed:\n\(build.stderr)") }
    return binary
  }

  /// fixtures/DIRECTORY/NAME.swift compiled with swiftc (an @main program) into `directory`.
  public static func swiftFixture(_ directory: String, _ name: String, into output: URL, flags: [String]) throws -> String {
    let source = packageRoot.appendingPathComponent("fixtures/\(directory)/\(name).swift").path
    let binary = output.appendingPathComponent(name).path
    let build = try run("/usr/bin/env", ["swiftc", "-g", "-parse-as-library", "-module-name", "main"] + flags + ["-o", binary, source])
    guard build.status == 0 else { throw HarnessError("swiftc \(name).swift failed:\n\(build.stderr)") }
    return binary
  }

  /// The symbol cache of every prof these tests run (XDG_CACHE_HOME), never the user's.
  /// Removed when the test process exits.
  public static let cacheHome: URL = {
    try? FileManager.default.createDirectory(at: testsCacheHome(), withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(at: ProfHarness.testsCacheHome()) }
    return testsCacheHome()
  }()

  private static func testsCacheHome() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("prof-tests-cache-\(getpid())")
  }

  public static func prof(_ arguments: [String], environment: [String: String] = [:],
                   whileRunning: ((Process) -> Void)? = nil) throws -> Run {
    try run(prof, arguments, environment: ["XDG_CACHE_HOME": cacheHome.path].merging(environment) { $1 },
            whileRunning: whileRunning)
  }

  public static func pprof(_ arguments: [String]) throws -> Run {
    let run = try run("/usr/bin/env", ["go", "tool", "pprof"] + arguments)
    XCTAssertEqual(run.status, 0, "go tool pprof \(arguments) failed: \(run.stderr)")
    return run
  }

  /// Rows of `go tool pprof -top -unit=ms`: (flat ms, cum ms, name).
  public static func top(_ file: String, _ extra: [String] = []) throws -> (totalMs: Double, rows: [(flat: Double, cum: Double, name: String)]) {
    let output = try pprof(["-top", "-unit=ms", "-nodecount=1000"] + extra + [file]).stdout
    var total = 0.0
    var rows: [(Double, Double, String)] = []
    for line in output.split(separator: "\n") {
      if let range = line.range(of: "Total samples = ") {
        total = Double(line[range.upperBound...].prefix { $0.isNumber || $0 == "." }) ?? 0
      }
      let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
      func milliseconds(_ field: Substring) -> Double? {
        Double(field.hasSuffix("ms") ? field.dropLast(2) : field)  // pprof prints zero as "0"
      }
      guard fields.count == 6, let flat = milliseconds(fields[0]), let cum = milliseconds(fields[3]) else { continue }
      rows.append((flat, cum, fields[5].trimmingCharacters(in: .whitespaces)))
    }
    return (total, rows)
  }
}

/// A test case with a temporary directory for its outputs, removed after each test.
open class OutputDirectoryTestCase: XCTestCase {
  public private(set) var directory: URL!

  override open func setUpWithError() throws {
    directory = try ProfHarness.temporaryDirectory()
  }

  override open func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  public func output(_ name: String) -> String { directory.appendingPathComponent(name).path }
}

public struct HarnessError: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}
