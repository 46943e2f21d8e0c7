import Foundation

/// Source file names and files as go tool pprof treats them.
public enum SourcePath {
  /// The name pprof shows: without a /proc/self/cwd/ prefix, lexically cleaned (Go's filepath.Clean).
  public static func display(_ path: String) -> String {
    path.isEmpty ? "" : clean(withoutWorkingDirectoryPrefix(path))
  }

  /// Build systems (Bazel) record paths under the compiling process's /proc/self/cwd.
  private static func withoutWorkingDirectoryPrefix(_ path: String) -> String {
    for prefix in ["/proc/self/cwd/./", "/proc/self/cwd/"] where path.hasPrefix(prefix) {
      return String(path.dropFirst(prefix.count))
    }
    return path
  }

  /// Go's filepath.Clean: no empty, "." or "dir/.." elements; ".." kept only at a relative start.
  static func clean(_ path: String) -> String {
    let absolute = path.hasPrefix("/")
    var parts: [Substring] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
      if part == ".." {
        if let last = parts.last, last != ".." { parts.removeLast() } else if !absolute { parts.append(part) }
      } else {
        parts.append(part)
      }
    }
    let joined = parts.joined(separator: "/")
    return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
  }

  /// A source file's lines, found as pprof finds them: a path containing the working
  /// directory's name is taken relative to it; relative paths are tried in the working
  /// directory and each of its parents.
  public static func lines(of path: String, workingDirectory: String,
                           read: (String) -> String?) -> Result<[String], SourceListing.SourceUnavailable> {
    var path = path
    let marker = "/" + (workingDirectory.split(separator: "/").last.map(String.init) ?? "") + "/"
    if let found = path.range(of: marker) {
      path = String(path[found.upperBound...])
    } else {
      path = withoutWorkingDirectoryPrefix(path)
    }
    if path.hasPrefix("/") {
      guard let text = read(path) else { return .failure(.init("open \(path): no such file or directory")) }
      return .success(splitLines(text))
    }
    var directory = workingDirectory
    while true {
      if let text = read(clean(directory + "/" + path)) { return .success(splitLines(text)) }
      let parent = clean(directory + "/..")
      if parent == directory { break }
      directory = parent
    }
    return .failure(.init("could not find file \(path) on path \(workingDirectory)"))
  }

  /// Lines as Go's bufio.Scanner reads them: no final empty line, "\r\n" as one break.
  static func splitLines(_ text: String) -> [String] {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
      line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
    }
    if text.hasSuffix("\n") || text.isEmpty { lines.removeLast() }
    return lines
  }
}
