import Foundation

/// Golden files: expected outputs kept in the source tree beside the tests that
/// compare with them. PROF_UPDATE_GOLDENS=1 rewrites them instead of comparing.
public enum Goldens {
  public static var updating: Bool { ProcessInfo.processInfo.environment["PROF_UPDATE_GOLDENS"] == "1" }

  /// nil when `actual` is the golden file's content (or was written to it), else
  /// what failed: the first differing line of each side.
  public static func mismatch(_ actual: String, golden url: URL) throws -> String? {
    if updating {
      try actual.write(to: url, atomically: true, encoding: .utf8)
      return nil
    }
    guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
      return "\(url.path) is missing: PROF_UPDATE_GOLDENS=1 writes it"
    }
    guard actual != expected else { return nil }
    let (old, new) = (expected.split(separator: "\n", omittingEmptySubsequences: false),
                      actual.split(separator: "\n", omittingEmptySubsequences: false))
    let line = (0..<min(old.count, new.count)).first { old[$0] != new[$0] } ?? min(old.count, new.count)
    let shown = { (lines: [Substring]) in line < lines.count ? String(lines[line]) : "<end>" }
    return "differs from \(url.lastPathComponent) at line \(line + 1):\n  golden: \(shown(old))\n  actual: \(shown(new))\n"
      + "(PROF_UPDATE_GOLDENS=1 rewrites it if the change is intended)"
  }
}
