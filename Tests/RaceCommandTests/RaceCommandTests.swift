import Foundation
import ProfTestSupport
import RaceTestSupport
import Testing

/// Runs the built `prof` on fixtures/race. The fixture is built with TSan once per test
/// run (in its own .build/prof-race, as `prof race` does) and shared by every test; the
/// suite is serialized because the runs share that build directory.
@Suite(.serialized) struct RaceCommandTests {
  static let fixture = ProfHarness.packageRoot.appendingPathComponent("fixtures/race").path
  static let demo = fixture + "/.build/prof-race/debug/racy-demo"
  static let fixtureBuild: Result<Void, any Error> = Result {
    try ProfHarness.command([
      "swift", "build", "--package-path", fixture, "--build-tests", "--sanitize=thread",
      "--scratch-path", fixture + "/.build/prof-race",
    ]).succeeded()
  }

  let output = FileManager.default.temporaryDirectory
    .appendingPathComponent("prof-race-test-\(UUID().uuidString)")

  init() throws {
    try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
    try Self.fixtureBuild.get()
  }

  func prof(_ arguments: [String]) throws -> ProfHarness.Run {
    try ProfHarness.prof(["race"] + arguments)
  }

  func findings(_ name: String) throws -> [[String: Any]] {
    let data = try Data(contentsOf: output.appendingPathComponent(name))
    let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    return try #require(document["findings"] as? [[String: Any]])
  }

  /// (function, file, line) of a finding's first stack's top frame.
  func top(_ finding: [String: Any]) -> (String, String, Int)? {
    guard let stacks = finding["stacks"] as? [[String: Any]],
      let top = stacks.first?["top"] as? [String: Any],
      let function = top["function"] as? String, let file = top["file"] as? String,
      let line = top["line"] as? Int
    else { return nil }
    return (function, file.replacingOccurrences(of: Self.fixture + "/", with: ""), line)
  }

  @Test func racyTestsExit66WithOneDemangledFindingPerRace() throws {
    let json = output.appendingPathComponent("race.json").path
    let sarif = output.appendingPathComponent("race.sarif").path
    let run = try prof([
      "--package-path", Self.fixture, "--filter", "RacyTests", "--json", json, "--sarif", sarif,
    ])
    #expect(run.status == 66)
    // The tests themselves pass; their output reaches the user.
    #expect(run.stdout.contains("Executed 3 tests, with 0 failures"))
    let findings = try findings("race.json")
    let tops = findings.compactMap(top)
    #expect(
      tops.map(\.0) == [
        "racy.bump()", "closure #1 in racy.racyProperty()",
        "closure #1 in closure #1 in racy.racyTasks() async",
      ])
    #expect(tops.map(\.1) == Array(repeating: "Sources/racy/Racy.swift", count: 3))
    #expect(tops.map(\.2) == [10, 37, 78])
    // The property race is reported several times (as a Swift access race and a data race).
    #expect((findings[1]["occurrences"] as? Int ?? 0) >= 2)
    #expect(run.stderr.contains("racy.bump()  Sources/racy/Racy.swift:10:11"))
    try SchemaValidator.validateSARIF(try Data(contentsOf: URL(fileURLWithPath: sarif)))
  }

  @Test func lockProtectedTestsAreClean() throws {
    let run = try prof(["--package-path", Self.fixture, "--filter", "CleanTests"])
    #expect(run.status == 0)
    #expect(run.stderr.hasSuffix("prof race: no ThreadSanitizer reports\n"))
  }

  @Test func commandModeMergesRacesAcrossProcesses() throws {
    let json = output.appendingPathComponent("command.json").path
    let run = try prof([
      "--json", json, "--", "sh", "-c", "\(Self.demo) counter; \(Self.demo) counter",
    ])
    #expect(run.status == 66)
    #expect(run.stdout.components(separatedBy: "racy-demo: start counter").count == 3)
    let findings = try findings("command.json")
    #expect(findings.count == 1)
    // At least one report from each process, merged; TSan may report a race twice
    // in one process (as a Swift access race and as a data race).
    #expect((findings.first?["occurrences"] as? Int ?? 0) >= 2)
    #expect(findings.first.flatMap(top)?.0 == "racy.bump()")
  }

  @Test func suppressionsArePassedToTSan() throws {
    let suppressions = output.appendingPathComponent("tsan.supp")
    try "race:Racy.swift\n".write(to: suppressions, atomically: true, encoding: .utf8)
    let run = try prof(["--suppressions", suppressions.path, "--", Self.demo, "counter"])
    #expect(run.status == 0)
  }

  @Test func helpExplainsModesAndExitStatus() throws {
    let run = try prof(["--help"])
    #expect(run.status == 0)
    #expect(run.stdout.contains("66 when ThreadSanitizer"))
    #expect(run.stdout.contains("--sarif <file>"))
  }

  @Test func aMissingCommandIsOneErrorLine() throws {
    let run = try prof(["--", "no-such-command-xyz"])
    #expect(run.status != 0)
    #expect(run.stderr == "Error: command not found: no-such-command-xyz\n")
  }

  @Test func aProgramBuiltWithoutThreadSanitizerFailsInsteadOfPassing() throws {
    let run = try prof(["--", "/bin/sh", "-c", "exit 0"])
    #expect(run.status == 1)
    #expect(run.stderr.hasPrefix("Error: no process of `/bin/sh -c exit 0` ran with ThreadSanitizer"))
    #expect(run.stderr.contains("swift build -Xswiftc -sanitize=thread"))
    #expect(run.stderr.split(separator: "\n").count == 1)
  }

  /// A program without TSan that fails or is killed keeps its status, and prof says
  /// that TSan never ran (it said "no ThreadSanitizer reports", as if TSan had looked).
  @Test func aFailedProgramBuiltWithoutThreadSanitizerIsNotReportedClean() throws {
    for (script, status) in [("exit 5", Int32(5)), ("kill -KILL $$", Int32(137))] {
      let run = try prof(["--", "/bin/sh", "-c", script])
      #expect(run.status == status)
      #expect(!run.stderr.contains("no ThreadSanitizer reports"), "\(run.stderr)")
      #expect(run.stderr == "prof race: the command ended with status \(status), and no process of `/bin/sh -c \(script)` "
        + "ran with ThreadSanitizer, so no race could be found: build it with `swift build -Xswiftc -sanitize=thread` "
        + "(a package's tests: `swift test --sanitize=thread`, which `prof race` without a command runs)\n")
    }
  }

  @Test func outputsNeverFollowASymlinkAndAreCheckedBeforeTheRun() throws {
    let precious = output.appendingPathComponent("precious").path
    try "keep".write(toFile: precious, atomically: true, encoding: .utf8)
    for option in ["--json", "--sarif"] {
      let link = output.appendingPathComponent("link\(option)").path
      try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: precious)
      let run = try prof([option, link, "--", Self.demo, "counter"])
      #expect(run.status == 66)
      #expect(try String(contentsOfFile: precious, encoding: .utf8) == "keep")
      let type = try FileManager.default.attributesOfItem(atPath: link)[.type] as? FileAttributeType
      #expect(type == .typeRegular, "the link was replaced by the report")
      #expect(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: link))) is [String: Any])

      let unwritable = try prof([option, "/nonexistent/dir/race.out", "--", Self.demo, "counter"])
      #expect(unwritable.status == 1)
      #expect(unwritable.stderr == "Error: cannot write /nonexistent/dir/race.out: No such file or directory\n")
      #expect(!unwritable.stdout.contains("racy-demo: start"), "the program did not run")
    }
  }

  @Test func aClosedOrFullStandardStreamKeepsTheVerdict() throws {
    // prof race writes nothing to stdout itself: a full stdout is the program's to handle
    // (the demo traps on one, as FileHandle.write does), so the demo's goes elsewhere.
    for redirections in ["2>&-", "2>/dev/full", ">/dev/full", ">&- 2>&-"] {
      let run = try ProfHarness.run(
        "/bin/sh", ["-c", "exec \"$0\" \"$@\" \(redirections)", ProfHarness.prof, "race", "--",
                    "/bin/sh", "-c", "\(Self.demo) counter >/dev/null 2>&1"])
      #expect(run.status == 66, "\(redirections)")
    }
  }

  @Test func aMissingPackageIsOneErrorLine() throws {
    let run = try prof(["--package-path", "/nonexistent/package"])
    #expect(run.status != 0)
    #expect(run.stderr == "Error: no Package.swift in /nonexistent/package\n")
  }
}
