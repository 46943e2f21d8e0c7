/// Failures before or around the run; each is one line for the user.
public enum RaceError: Error, Equatable, CustomStringConvertible {
  case noPackage(String)
  case cannotCreate(String, String)
  case noSuchFile(option: String, path: String)
  case notInstrumented(String)
  case unreadable(option: String, path: String)

  public var description: String {
    switch self {
    case .noPackage(let path): "no Package.swift in \(path)"
    case .cannotCreate(let path, let reason): "cannot create \(path): \(reason)"
    case .noSuchFile(let option, let path): "\(option): no such file: \(path)"
    case .unreadable(let option, let path): "\(option): not a readable file: \(path)"
    case .notInstrumented(let command):
      "no process of `\(command)` ran with ThreadSanitizer, so no race could be found: build it with "
        + "`swift build -Xswiftc -sanitize=thread` (a package's tests: `swift test --sanitize=thread`, "
        + "which `prof race` without a command runs)"
    }
  }
}
