import Foundation
import TargetLaunch

/// Where prof finds its agent and how it asks the dynamic loader to preload it.
public enum AgentLibrary {
  public static let fileName = "libProfAgent.so"

  /// Beside the prof executable (where SwiftPM builds both), unless PROF_AGENT_LIBRARY says otherwise.
  public static func locate() throws -> String {
    let environment = ProcessInfo.processInfo.environment
    if let explicit = environment["PROF_AGENT_LIBRARY"] { return explicit }
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let path = executable.deletingLastPathComponent().appendingPathComponent(fileName).path
    guard FileManager.default.fileExists(atPath: path) else {
      throw LaunchError(description: "cannot find \(fileName) beside prof at \(path): build it with `swift build`")
    }
    return path
  }

  /// prof's environment plus the agent, preloaded first, and its settings.
  public static func environment(settings: [String: String]) throws -> [String: String] {
    let agent = try locate()
    var environment = ProcessInfo.processInfo.environment
    environment["LD_PRELOAD"] = environment["LD_PRELOAD"].map { agent + ":" + $0 } ?? agent
    environment.merge(settings) { $1 }
    return environment
  }
}
