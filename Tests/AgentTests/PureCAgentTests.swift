import Foundation
import ProfTestSupport
import XCTest

/// The built libProfAgent.so is plain C: it loads nothing but glibc into the program.
final class PureCAgentTests: OutputDirectoryTestCase {
  static let agent = URL(fileURLWithPath: ProfHarness.prof).deletingLastPathComponent()
    .appendingPathComponent("libProfAgent.so").path

  private func neededLibraries(_ library: String) throws -> [String] {
    let run = try ProfHarness.run("/usr/bin/env", ["readelf", "-d", library])
    XCTAssertEqual(run.status, 0, run.stderr)
    return run.stdout.split(separator: "\n").filter { $0.contains("(NEEDED)") }.compactMap { line in
      line.split(separator: "[").last?.split(separator: "]").first.map(String.init)
    }
  }

  func testTheAgentNeedsOnlyGlibc() throws {
    let needed = try neededLibraries(Self.agent)
    XCTAssertTrue(needed.contains("libc.so.6"), "\(needed)")
    let glibc: Set = ["libc.so.6", "libdl.so.2", "libpthread.so.0", "libm.so.6"]
    // ld-linux: the loader, in every process already; config.c reads its module list.
    XCTAssertEqual(needed.filter { !glibc.contains($0) && !$0.hasPrefix("ld-linux") }, [], "the agent links more than glibc")
    XCTAssertFalse(needed.contains { $0.contains("swift") || $0.contains("unwind") || $0.contains("stdc++") })
  }

  /// VmRSS (kB), the mapped files and the thread count of `sleep 30`, with the agent
  /// preloaded or not, once every thread waits in a system call: exec, the loader
  /// and the agent's start are done (the control thread in accept).
  private func sleepingProcess(preloading agent: String?) throws -> (rssKB: Int, maps: String, threads: Int) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sleep")
    process.arguments = ["30"]
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PROF_") }
    environment["LD_PRELOAD"] = agent
    process.environment = environment
    try process.run()
    defer { process.terminate(); process.waitUntilExit() }
    let proc = "/proc/\(process.processIdentifier)"
    for _ in 0..<500 {
      let status = (try? String(contentsOfFile: "\(proc)/status", encoding: .utf8)) ?? ""
      let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "\(proc)/task")) ?? []
      let calls = tasks.map { (try? String(contentsOfFile: "\(proc)/task/\($0)/syscall", encoding: .utf8)) ?? "" }
      // 230: clock_nanosleep, where sleep waits; "running": not in a system call.
      let mainCall = (try? String(contentsOfFile: "\(proc)/syscall", encoding: .utf8)) ?? ""
      if status.contains("Name:\tsleep"), mainCall.hasPrefix("230 "), calls.allSatisfy({ $0.first?.isNumber == true }),
         let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
         let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") {
        return (kilobytes, try String(contentsOfFile: "\(proc)/maps", encoding: .utf8), tasks.count)
      }
      usleep(10_000)
    }
    throw HarnessError("sleep never went to sleep")
  }

  func testADormantAgentAddsLessThan300KBToSleep() throws {
    // The smallest of five of each: the kernel maps a file's pages 64 kB around each
    // fault, and where those windows fall moves with ASLR. Measured 2026-12-02 after
    // the day's merges: 208 kB apart in the median, 256 smallest against smallest
    // (docs/performance.md, "A dormant agent's memory", says where it goes).
    let plain = try (0..<5).map { _ in try sleepingProcess(preloading: nil).rssKB }.min()!
    let dormant = try (0..<5).map { _ in try sleepingProcess(preloading: Self.agent) }
    let withAgent = dormant.map(\.rssKB).min()!
    XCTAssertTrue(dormant[0].maps.contains("libProfAgent.so"), "the agent was not loaded")
    XCTAssertEqual(dormant[0].threads, 2, "a dormant agent runs its control thread, which is measured too")
    XCTAssertFalse(dormant[0].maps.contains("libunwind"), "a dormant agent loaded libunwind")
    XCTAssertFalse(dormant[0].maps.contains("libswift"), "a dormant agent loaded the Swift runtime")
    XCTAssertLessThan(withAgent - plain, 300, "sleep: \(plain) kB alone, \(withAgent) kB with a dormant agent")
  }

  func testACProgramThatAbortsGetsNoSwiftCrashReportAndNoHandlerWarning() throws {
    let program = try ProfHarness.cFixture("agent", "abort_after_work", into: directory)
    let file = output("abort.pb.gz")
    let run = try ProfHarness.prof(["cpu", "-o", file, "--", program])
    XCTAssertEqual(run.status, 134, "the program's own status (SIGABRT): \(run.stderr)")
    XCTAssertFalse(run.stderr.contains("Program crashed"), run.stderr)
    XCTAssertFalse(run.stderr.contains("swift-runtime"), run.stderr)
    XCTAssertFalse(run.stderr.contains("handler"), run.stderr)
    XCTAssertNotNil(try ProfHarness.top(file).rows.first { $0.name == "abort_after_work_loop" })
  }

  func testWithoutLibunwindTheAgentSaysSoAndLeavesTheProgramAlone() throws {
    let source = ProfHarness.packageRoot.appendingPathComponent("fixtures/agent/not_libunwind.c").path
    let fake = directory.appendingPathComponent("libunwind.so.8").path
    let build = try ProfHarness.run("/usr/bin/env", ["clang", "-shared", "-fPIC", "-Wl,-soname,libunwind.so.8", "-o", fake, source])
    XCTAssertEqual(build.status, 0, build.stderr)
    let program = try ProfHarness.cFixture("agent", "abort_after_work", into: directory)
    let run = try ProfHarness.prof(["cpu", "--unwind", "libunwind", "-o", output("none.pb.gz"), "--", program],
                                   environment: ["LD_LIBRARY_PATH": directory.path])
    XCTAssertEqual(run.status, 134, run.stderr)
    XCTAssertEqual(run.stderr.components(separatedBy: "libunwind.so.8 could not be loaded").count, 2,
                   "one warning: \(run.stderr)")
    XCTAssertTrue(run.stderr.contains("--unwind fp"), run.stderr)
  }
}
