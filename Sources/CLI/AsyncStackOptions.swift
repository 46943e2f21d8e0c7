import ArgumentParser
import TargetLaunch

/// --async-stacks: whether a Swift async function's frame goes on with the
/// functions awaiting it (read from the task's async contexts in the target).
struct AsyncStackOptions: ParsableArguments {
  enum Switch: String, ExpressibleByArgument, CaseIterable {
    case on, off
  }

  @Option(name: .customLong("async-stacks"),
          help: "Follow Swift async functions to the functions awaiting them, up to the task's entry: on or off.")
  var asyncStacks: Switch = .on

  var settings: [String: String] { [AgentEnvironment.asyncStacks.name: asyncStacks == .on ? "1" : "0"] }

  /// The setting in a control-channel request (a running process's dormant agent).
  var request: String { "async=\(asyncStacks.rawValue)" }
}
