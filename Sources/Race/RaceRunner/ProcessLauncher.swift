import TargetLaunch

/// Starts a program with inherited standard streams and waits for it. Behind a protocol
/// so that tests can stand in a fake that writes canned TSan logs.
public protocol ProcessLauncher: Sendable {
  /// Runs `arguments[0]` (looked up in PATH) and returns its exit status, 128+N when
  /// it was killed by signal N.
  func run(_ arguments: [String], environment: [String: String]) throws -> Int32
}

/// prof's one launcher: the signals sent to prof (^C, a closed terminal) go on to
/// the program, and prof still reports what TSan found once it has ended.
public struct SpawnLauncher: ProcessLauncher {
  public init() {}

  public func run(_ arguments: [String], environment: [String: String]) throws -> Int32 {
    let command = try ResolvedCommand(arguments, preloading: false)
    return try TargetProcess(command: command, environment: environment, pipe: .none).waitForExit().shellStatus
  }
}
