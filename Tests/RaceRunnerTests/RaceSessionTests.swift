import Foundation
import RaceReport
import TargetLaunch
import Testing

@testable import RaceRunner

/// Stands in for a TSan-built program: writes the given logs where TSAN_OPTIONS says.
struct FakeLauncher: ProcessLauncher {
  var logs: [String] = []
  var status: Int32 = 0
  let received = Received()

  final class Received: @unchecked Sendable {
    var arguments: [String] = []
    var tsanOptions = ""
  }

  func run(_ arguments: [String], environment: [String: String]) throws -> Int32 {
    received.arguments = arguments
    received.tsanOptions = environment["TSAN_OPTIONS"] ?? ""
    let logPath = try #require(received.tsanOptions.firstMatch(of: /log_path="([^"]+)"/)).1
    for (pid, log) in logs.enumerated() {
      try log.write(toFile: "\(logPath).\(pid + 100)", atomically: true, encoding: .utf8)
    }
    return status
  }
}

@Suite struct RaceSessionTests {
  static let race = """
    ==================
    WARNING: ThreadSanitizer: data race (pid=100)
      Write of size 8 at 0x10 by thread T1:
        #0 $s4racy4bumpyyF /src/racy/Racy.swift:10:11 (racy+0x1)
      Previous write of size 8 at 0x10 by main thread:
        #0 $s4racy4bumpyyF /src/racy/Racy.swift:10:11 (racy+0x1)
    SUMMARY: ThreadSanitizer: data race /src/racy/Racy.swift:10:11 in $s4racy4bumpyyF
    ==================
    ThreadSanitizer: reported 1 warnings

    """

  func run(
    _ launcher: FakeLauncher, suppressions: String? = nil, environment: [String: String] = [:]
  )
    throws -> RaceSession.Outcome
  {
    try RaceSession(launcher: launcher, demangler: SwiftRuntimeDemangler())
      .run(.command(["racy"]), suppressions: suppressions, environment: environment)
  }

  @Test func racesMeanExit66EvenWhenTheCommandSucceeded() throws {
    let outcome = try run(FakeLauncher(logs: [Self.race, Self.race]))
    #expect(outcome.exitCode == 66)
    #expect(outcome.analysis.findings.map(\.occurrences) == [2])
    #expect(outcome.analysis.findings[0].stacks[0].top?.function == "racy.bump()")
  }

  @Test func cleanRunsKeepTheCommandsStatus() throws {
    #expect(try run(FakeLauncher()).exitCode == 0)
    #expect(try run(FakeLauncher(status: 3)).exitCode == 3)
  }

  @Test func reportsAnnouncedButUnreadStillCount() throws {
    let outcome = try run(FakeLauncher(logs: ["ThreadSanitizer: reported 2 warnings\n"], status: 1))
    #expect(outcome.analysis.unparsedReports == 2)
    #expect(outcome.exitCode == 66)
  }

  @Test func setsTSanOptionsAfterTheUsersOwn() throws {
    let launcher = FakeLauncher()
    let suppressions = FileManager.default.temporaryDirectory.appendingPathComponent(
      "supp-\(UUID())"
    ).path
    try "race:bump\n".write(toFile: suppressions, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: suppressions) }
    _ = try run(launcher, suppressions: suppressions, environment: ["TSAN_OPTIONS": "verbosity=1"])
    let options = launcher.received.tsanOptions
    #expect(options.hasPrefix("verbosity=1 halt_on_error=0 log_path=\""))
    #expect(options.hasSuffix(" suppressions=\"\(suppressions)\""))
  }

  @Test func missingInputsAreOneLineErrors() {
    #expect(throws: RaceError.noPackage("/nonexistent")) {
      try RaceSession(launcher: FakeLauncher(), demangler: SwiftRuntimeDemangler()).run(
        .packageTests(
          .init(path: "/nonexistent", filter: nil, scratchPath: nil, extraArguments: [])),
        suppressions: nil, environment: [:])
    }
    #expect(throws: RaceError.noSuchFile(option: "--suppressions", path: "/nonexistent.supp")) {
      try run(FakeLauncher(), suppressions: "/nonexistent.supp")
    }
  }
}

@Suite struct SpawnLauncherTests {
  let launcher = SpawnLauncher()

  @Test func returnsTheExitStatus() throws {
    #expect(try launcher.run(["sh", "-c", "exit 3"], environment: ["PATH": "/usr/bin:/bin"]) == 3)
    #expect(
      try launcher.run(["sh", "-c", "kill -9 $$"], environment: ["PATH": "/usr/bin:/bin"]) == 137)
  }

  @Test func passesTheEnvironment() throws {
    let status = try launcher.run(
      ["sh", "-c", "test \"$PROF_TEST\" = yes"],
      environment: ["PATH": "/usr/bin:/bin", "PROF_TEST": "yes"])
    #expect(status == 0)
  }

  @Test func aMissingCommandIsAnError() {
    #expect(throws: ResolvedCommand.Failure.notFound("no-such-command-xyz")) {
      try launcher.run(["no-such-command-xyz"], environment: ["PATH": "/usr/bin:/bin"])
    }
  }
}
