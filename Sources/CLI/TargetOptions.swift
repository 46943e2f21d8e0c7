import ArgumentParser
import Foundation
import TargetLaunch

/// The command line of the program to profile: everything after `--`.
struct TargetOptions: ParsableArguments {
  // After `--` only, so that prof's own options (and --help) are never taken for the program's.
  @Argument(parsing: .postTerminator, help: "The program to run and its arguments, after --.")
  var command: [String] = []

  func validate() throws {
    if command.isEmpty { throw ValidationError("Give the program to run after --, e.g. -- ./myserver --port 8080") }
  }

  func resolve() throws -> ResolvedCommand {
    try ResolvedCommand(command)
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
