import Foundation
import ProfTestSupport
import XCTest

/// The agent's lock-free ring, heap tables and contention table, hammered from several threads (writers
/// and the reader, as in the agent) under ThreadSanitizer: harnesses in
/// fixtures/agent/stress, compiled with the agent's own sources.
final class ThreadSanitizerStressTests: OutputDirectoryTestCase {
  private let agentSources = ProfHarness.packageRoot.appendingPathComponent("Sources/Agent")

  /// The toolchain's TSan runtime has libdispatch interceptors: it links against the
  /// toolchain's libdispatch, found beside its clang resource directory.
  private func toolchainLibraries() throws -> String {
    let resources = try ProfHarness.run("/usr/bin/env", ["clang", "-print-resource-dir"])
    XCTAssertEqual(resources.status, 0, resources.stderr)
    let directory = URL(fileURLWithPath: resources.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    return directory.appendingPathComponent("../../swift/linux").standardized.path
  }

  /// `sources`: the agent's files under test, with what they call.
  private func stress(_ name: String, _ sources: [String]) throws {
    let binary = output(name)
    let libraries = try toolchainLibraries()
    let build = try ProfHarness.run("/usr/bin/env", [
      "clang", "-fsanitize=thread", "-O1", "-g", "-Wall", "-Werror",
      "-I", agentSources.appendingPathComponent("agent").path,
      "-I", agentSources.appendingPathComponent("format/include").path,
      "-o", binary,
      ProfHarness.packageRoot.appendingPathComponent("fixtures/agent/stress/\(name)_stress.c").path,
    ] + sources.map { agentSources.appendingPathComponent("agent/\($0)").path } + [
      "-lpthread", "-L", libraries, "-Wl,-rpath,\(libraries)", "-ldispatch", "-lBlocksRuntime",
    ])
    XCTAssertEqual(build.status, 0, build.stderr)
    let run = try ProfHarness.run(binary, [], environment: ["TSAN_OPTIONS": "halt_on_error=1 exitcode=66"])
    XCTAssertFalse(run.stderr.contains("ThreadSanitizer"), run.stderr)
    XCTAssertEqual(run.status, 0, "\(name): \(run.stderr)")
    XCTAssertTrue(run.stdout.hasPrefix("\(name)_stress: "), run.stdout)
  }

  func testTheRingUnderThreadSanitizer() throws { try stress("ring", ["ring.c"]) }

  func testTheHeapTablesUnderThreadSanitizer() throws { try stress("heap_table", ["heap_table.c", "heap_estimate.c", "stack_table.c"]) }

  func testTheContentionTableUnderThreadSanitizer() throws { try stress("contention_table", ["contention_table.c", "stack_table.c"]) }

  func testMutexModesLockSlotsUnderThreadSanitizer() throws {
    try stress("contention_slots", ["contention_slots.c", "contention_table.c", "stack_table.c"])
  }
}
