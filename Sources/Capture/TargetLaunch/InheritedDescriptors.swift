import Glibc

/// The descriptors prof had when it started, which a program prof runs gets as it
/// would have without prof (a shell's `3>file`, systemd's sockets); every other one
/// prof opened for itself (`prof run --http`'s listening socket and event loop, which
/// are not close-on-exec) is closed in the program, so that it never keeps prof's
/// port after prof is gone.
public enum InheritedDescriptors {
  /// Set once, by `record()`, before prof opens anything; nil: never recorded (prof's
  /// code run as a library, in tests), and the program gets what prof has.
  nonisolated(unsafe) private static var atStart: Set<Int32>?

  /// Call first thing in main, before StandardStream.reserve() opens anything.
  public static func record() { atStart = openDescriptors() }

  /// Descriptors open now that prof did not inherit, less `kept` (what prof hands the
  /// program on purpose) and 0, 1 and 2, which are the program's standard streams.
  static func toClose(keeping kept: Set<Int32>) -> [Int32] {
    guard let atStart else { return [] }
    return openDescriptors().filter { $0 > 2 && !atStart.contains($0) && !kept.contains($0) }.sorted()
  }

  /// Listed from /proc/self/fd (less the one reading it); without /proc, found by
  /// asking each number up to the descriptor limit.
  static func openDescriptors() -> Set<Int32> {
    if let directory = opendir("/proc/self/fd") {
      defer { closedir(directory) }
      let own = dirfd(directory)
      var found: Set<Int32> = []
      while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if let descriptor = Int32(name), descriptor != own { found.insert(descriptor) }
      }
      return found
    }
    var limit = rlimit()
    let highest = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? min(limit.rlim_cur, 65536) : 1024
    return Set((0..<Int32(highest)).filter { fcntl($0, F_GETFD) >= 0 })
  }
}
