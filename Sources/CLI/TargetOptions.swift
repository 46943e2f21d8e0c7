import ArgumentParser
import Foundation
import TargetLaunch

/// The command line of the program to profile: everything after `--`.
struct TargetOptions: ParsableArguments {
  // After `--` only, so that prof's own options (and --help) are never taken for the program's.
  @Argument(parsing: .postTerminator, help: "The program to run and its arguments, after --.")
  var command: [String] = []

  /// Checked when the program is needed, not at parsing: `prof cpu --pid` has none.
  func resolve() throws -> ResolvedCommand {
    if command.isEmpty { throw ValidationError("Give the program to run after --, e.g. -- ./myserver --port 8080") }
    return try ResolvedCommand(command, path: ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
  }
}

/// Where prof finds its agent and how it asks the dynamic loader to preload it.
enum AgentLibrary {
  static let fileName = "libProfAgent.so"

  /// Beside the prof executable (where SwiftPM builds both), unless PROF_AGENT_LIBRARY says otherwise.
  static func locate() throws -> String {
    let environment = ProcessInfo.processInfo.environment
    if let explicit = environment["PROF_AGENT_LIBRARY"] { return explicit }
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let path = executable.deletingLastPathComponent().appendingPathComponent(fileName).path
    guard FileManager.default.fileExists(atPath: path) else {
      throw ProfError("cannot find \(fileName) beside prof at \(path): build it with `swift build`")
    }
    return path
  }

  /// Starts `command` with the agent preloaded and configured by `settings`.
  static func launch(_ command: ResolvedCommand, settings: [String: String]) throws -> TargetProcess {
    try TargetProcess(command: command, environment: environment(agent: locate(), settings: settings))
  }

  /// Starts `command` with the agent preloaded and dormant, attachable by pid.
  static func launchDormant(_ command: ResolvedCommand, settings: [String: String]) throws -> TargetProcess {
    try TargetProcess(command: command, environment: environment(agent: locate(), settings: settings), streamed: false)
  }

  /// prof's environment plus the agent, preloaded first, and its settings.
  private static func environment(agent: String, settings: [String: String]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    let preload = environment["LD_PRELOAD"].map { agent + ":" + $0 } ?? agent
    environment["LD_PRELOAD"] = preload
    environment.merge(settings) { $1 }
    return environment
  }
}

/// A failure reported as one line, "Error: <description>", with exit status 1.
struct ProfError: Error, CustomStringConvertible {
  let description: String

  init(_ description: String) { self.description = description }
}

extension TerminationStatus {
  /// Ends prof with the target's status, so prof sits transparently in scripts.
  func passThrough() throws {
    if shellStatus != 0 { throw ExitCode(shellStatus) }
  }
}
