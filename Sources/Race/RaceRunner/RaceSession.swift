import Foundation
import RaceReport

/// One `prof race` run: start the target with TSan writing its reports to files of its
/// own (so they never mix with the program's output, which passes through untouched),
/// then read and analyze every process's log.
public struct RaceSession: Sendable {
  /// TSan's own exit code for "reports were printed", kept as prof's verdict.
  public static let racesFound: Int32 = 66

  public struct Outcome: Sendable {
    public var analysis: RaceAnalysis
    public var commandStatus: Int32
    /// Whether any process of the command ran with ThreadSanitizer.
    public var instrumented: Bool
    /// The command, as the user gave it.
    public var command: String

    /// What the run found, for people: TSan's findings, or, when no process ran with
    /// TSan and the command failed, that (not "no reports", which would imply TSan
    /// looked).
    public func summary(_ renderer: TextRenderer) -> String {
      guard !instrumented, analysis.reportCount + analysis.unparsedReports == 0, analysis.runtimeMessages.isEmpty else {
        return renderer.render(analysis)
      }
      return "prof race: the command ended with status \(commandStatus), and \(RaceError.notInstrumented(command))\n"
    }
    /// 0 when clean, 66 when TSan reported anything, else the command's failure status;
    /// 1 when TSan failed without a report (it exits 66 then, which would read as races).
    public var exitCode: Int32 {
      if analysis.reportCount + analysis.unparsedReports > 0 { return RaceSession.racesFound }
      if commandStatus == RaceSession.racesFound && !analysis.runtimeMessages.isEmpty { return 1 }
      return commandStatus
    }
  }

  public var launcher: ProcessLauncher
  public var demangler: Demangler

  public init(launcher: ProcessLauncher, demangler: Demangler) {
    self.launcher = launcher
    self.demangler = demangler
  }

  public func run(_ target: RaceTarget, suppressions: String?, environment: [String: String])
    throws -> Outcome
  {
    try Self.check(target, suppressions: suppressions)
    let logs = try Self.makeLogDirectory()
    defer { try? FileManager.default.removeItem(atPath: logs) }
    var environment = environment
    environment["TSAN_OPTIONS"] = Self.tsanOptions(
      inherited: environment["TSAN_OPTIONS"], logPath: logs + "/" + Self.logName,
      suppressions: suppressions, instrumentedPath: logs + "/" + Self.instrumentedName)
    let status = try launcher.run(target.arguments, environment: environment)
    let analysis = RaceAnalysis(try Self.readLogs(in: logs), demangler: demangler)
    let command = target.arguments.joined(separator: " ")
    let outcome = Outcome(analysis: analysis, commandStatus: status, instrumented: Self.anyInstrumented(in: logs),
                          command: command)
    // A clean, successful run where TSan never started is a build without it, not a pass.
    if outcome.exitCode == 0 && !outcome.instrumented { throw RaceError.notInstrumented(command) }
    return outcome
  }

  /// TSan's log of process PID is `tsan.PID`.
  static let logName = "tsan"
  /// Every process TSan starts in creates `instrumented.PID` at its start (TSan's
  /// memory profile, the profile_memory flag): proof that something ran under TSan,
  /// which a clean run's missing reports cannot give.
  static let instrumentedName = "instrumented"

  private static func anyInstrumented(in directory: String) -> Bool {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return names.contains { $0.hasPrefix(instrumentedName + ".") }
  }

  private static func check(_ target: RaceTarget, suppressions: String?) throws {
    let files = FileManager.default
    if case .packageTests(let tests) = target,
      !files.fileExists(atPath: tests.path + "/Package.swift")
    {
      throw RaceError.noPackage(tests.path)
    }
    var isDirectory: ObjCBool = false
    if let suppressions, !files.fileExists(atPath: suppressions, isDirectory: &isDirectory) {
      throw RaceError.noSuchFile(option: "--suppressions", path: suppressions)
    }
    // TSan would stop the program at its start with its own exit code, 66, as if it had found races.
    if let suppressions, isDirectory.boolValue || !files.isReadableFile(atPath: suppressions) {
      throw RaceError.unreadable(option: "--suppressions", path: suppressions)
    }
  }

  /// The user's own TSAN_OPTIONS come first so that prof's, which it relies on, win.
  /// `log_path` gets one file per process (`tsan.PID`), which covers test runners that
  /// start several processes.
  static func tsanOptions(
    inherited: String?, logPath: String, suppressions: String?, instrumentedPath: String
  ) -> String {
    let own =
      ["halt_on_error=0", "log_path=\"\(logPath)\"", "profile_memory=\"\(instrumentedPath)\""]
      + (suppressions.map { ["suppressions=\"\($0)\""] } ?? [])
    return ([inherited].compactMap { $0 } + own).joined(separator: " ")
  }

  private static func makeLogDirectory() throws -> String {
    let pattern = NSTemporaryDirectory() + "/prof-race.XXXXXX"
    var template = Array(pattern.utf8CString)
    guard let path = mkdtemp(&template) else {
      throw RaceError.cannotCreate(pattern, String(cString: strerror(errno)))
    }
    return String(cString: path)
  }

  /// Each process's log is parsed on its own, so that a report cut short when one process
  /// died cannot swallow another's.
  static func readLogs(in directory: String) throws -> TSanParser.Result {
    let names = try FileManager.default.contentsOfDirectory(atPath: directory)
      .filter { $0.hasPrefix(logName + ".") }.sorted { pid($0) < pid($1) }
    var combined = TSanParser.Result()
    for name in names {
      combined.append(
        TSanParser.parse(try String(contentsOfFile: directory + "/" + name, encoding: .utf8)))
    }
    return combined
  }

  private static func pid(_ name: String) -> Int {
    name.split(separator: ".").last.flatMap { Int($0) } ?? 0
  }
}
