/// What `prof race` runs: a package's tests, built with ThreadSanitizer into a scratch
/// path of their own, or a command that was already built with it.
public enum RaceTarget: Equatable, Sendable {
  case packageTests(PackageTests)
  case command([String])

  public struct PackageTests: Equatable, Sendable {
    /// Absolute.
    public var path: String
    public var filter: String?
    /// Defaults to `.build/prof-race` in the package, so that the TSan build neither
    /// clobbers nor is clobbered by the normal `.build/debug`.
    public var scratchPath: String?
    public var extraArguments: [String]

    public init(path: String, filter: String?, scratchPath: String?, extraArguments: [String]) {
      self.path = path
      self.filter = filter
      self.scratchPath = scratchPath
      self.extraArguments = extraArguments
    }

    public var arguments: [String] {
      [
        "swift", "test", "--package-path", path, "--sanitize=thread",
        "--scratch-path", scratchPath ?? path + "/.build/prof-race",
      ]
        + (filter.map { ["--filter", $0] } ?? []) + extraArguments
    }
  }

  /// Words after `--` are a command when no package option was given and the first word
  /// is not an option (`prof race -- .build/debug/app`); otherwise they go to `swift test`
  /// (`prof race -- -Xswiftc -g`, `prof race --filter X -- --parallel`).
  public static func choose(
    packagePath: String?, filter: String?, scratchPath: String?, words: [String],
    currentDirectory: String
  ) -> RaceTarget {
    if packagePath == nil, filter == nil, scratchPath == nil, let first = words.first,
      !first.hasPrefix("-")
    {
      return .command(words)
    }
    return .packageTests(
      PackageTests(
        path: absolutePath(packagePath ?? ".", in: currentDirectory), filter: filter,
        scratchPath: scratchPath.map { absolutePath($0, in: currentDirectory) },
        extraArguments: words))
  }

  public var arguments: [String] {
    switch self {
    case .packageTests(let tests): tests.arguments
    case .command(let words): words
    }
  }

  /// Where reported paths are made relative from.
  public func sourceRoot(currentDirectory: String) -> String {
    switch self {
    case .packageTests(let tests): tests.path
    case .command: currentDirectory
    }
  }
}

public func absolutePath(_ path: String, in directory: String) -> String {
  let joined = path.hasPrefix("/") ? path : directory + "/" + path
  // Keep "a/./b" and "a/b/" out of paths shown to users and written to SARIF.
  var parts: [Substring] = []
  for part in joined.split(separator: "/") where part != "." {
    if part == "..", !parts.isEmpty {
      parts.removeLast()
    } else if part != ".." {
      parts.append(part)
    }
  }
  return "/" + parts.joined(separator: "/")
}
