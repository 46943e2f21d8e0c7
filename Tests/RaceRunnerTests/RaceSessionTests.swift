import Foundation
import RaceReport
import TargetLaunch
import Testing

@testable import RaceRunner

/// Stands in for a TSan-built program: writes the given logs where TSAN_OPTIONS says.
struct FakeLauncher: ProcessLauncher {
  var logs: [String] = []
  var status: Int32 = 0
  /// Whether TSan started in the program: it creates its profile_memory file.
  var instrumented = true
  let received = Received()

  final class Received: @unchecked Sendable {
    var arguments: [String] = []
    var tsanOptions = ""
  }

  func run(_ arguments: [String], environment: [String: String]) throws -> Int32 {
    received.arguments = arguments
    received.tsanOptions = environment["TSAN_OPTIONS"] ?? ""
    let logPath = try #require(received.tsanOptions.firstMatch(of: /log_path="([^"]+)"/)).1
    if instrumented {
      let path = try #require(received.tsanOptions.firstMatch(of: /profile_memory="([^"]+)"/)).1
      try "".write(toFile: "\(path).100", atomically: true, encoding: .utf8)
    }
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

  @Test func aCleanRunWithoutThreadSanitizerIsAnErrorNotAPass() throws {
    #expect(throws: RaceError.notInstrumented("racy")) { try run(FakeLauncher(instrumented: false)) }
    // A failing command keeps its own status; a report proves TSan ran.
    #expect(try run(FakeLauncher(status: 3, instrumented: false)).exitCode == 3)
    #expect(try run(FakeLauncher(logs: [Self.race], instrumented: false)).exitCode == 66)
    #expect("\(RaceError.notInstrumented("racy"))".contains("swift build -Xswiftc -sanitize=thread"))
  }

  @Test func threadSanitizersOwnFailureIsNotARace() throws {
    let failed = "ThreadSanitizer: failed to parse suppressions.\nSupported suppression types are:\n- race\n"
    let outcome = try run(FakeLauncher(logs: [failed, failed], status: 66))
    #expect(outcome.analysis.runtimeMessages == ["ThreadSanitizer: failed to parse suppressions."])
    #expect(outcome.exitCode == 1)
    let text = TextRenderer(paths: SourcePaths(root: "/")).render(outcome.analysis)
    #expect(text == "prof race: no ThreadSanitizer reports\n"
      + "prof race: ThreadSanitizer itself failed: ThreadSanitizer: failed to parse suppressions.\n")
    // A report still makes it 66.
    #expect(try run(FakeLauncher(logs: [failed, Self.race], status: 66)).exitCode == 66)
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
    // TSan would end the program with 66 before it ran, as if it had found races.
    #expect(throws: RaceError.unreadable(option: "--suppressions", path: "/tmp")) {
      try run(FakeLauncher(), suppressions: "/tmp")
    }
  }
}

@Suite struct SpawnLauncherTests {
  let launcher = SpawnLauncher()

  @Test func theCommandGetsSIGPIPEsDefaultActionThoughProfIgnoresIt() throws {
    let previous = signal(SIGPIPE, SIG_IGN)
    defer { signal(SIGPIPE, previous) }
    // An ignored signal stays ignored across exec: sh would survive its own SIGPIPE.
    #expect(try launcher.run(["sh", "-c", "kill -PIPE $$"], environment: ["PATH": "/usr/bin:/bin"]) == 128 + SIGPIPE)
  }

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
