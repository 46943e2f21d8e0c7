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
    return try ResolvedCommand(command)
  }

  /// `--pid` commands attach to a running process: a COMMAND too is a mistake.
  func requireNone() throws {
    if !command.isEmpty { throw ValidationError("--pid attaches to a running process: give no COMMAND") }
  }
}

/// A process id given with --pid: a negative one is read as a number, not taken
/// for an option, so that it gets this rule rather than "Missing value".
func validateProcessID(_ pid: Int32?) throws {
  if let pid, pid < 1 { throw ValidationError("--pid must be a process id (a positive number), not \(pid)") }
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
