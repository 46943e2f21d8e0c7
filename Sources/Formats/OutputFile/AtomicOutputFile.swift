import Glibc

/// An output written under a temporary name beside its destination and renamed
/// into place, so the final name never holds a half-written file. The temporary
/// file is created exclusively (O_EXCL, O_NOFOLLOW): a symlink planted in a shared
/// directory is never followed, and a symlink at the destination is replaced, not
/// written through.
public final class AtomicOutputFile {
  public let path: String
  private let temporaryPath: String
  private var fd: Int32
  /// Whether the temporary file is still on disk: every failure removes it.
  private var temporaryExists = true
  /// Its place in TemporaryFiles, which removes it if a signal ends prof first.
  private let signalSlot: Int?

  public struct Failure: Error, CustomStringConvertible {
    public let description: String
  }

  /// Creating it up front proves the destination writable before any work starts.
  public init(path: String) throws(Failure) {
    try Self.checkDestination(path)
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { String(path[...$0]) } ?? ""
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    var candidate = ""
    var fd: Int32 = -1
    for attempt in 0..<100 where fd < 0 {
      candidate = "\(directory).\(name).\(getpid()).\(attempt).tmp"
      fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
      if fd < 0 && errno != EEXIST { break }
    }
    guard fd >= 0 else {
      throw Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))")
    }
    self.path = path
    self.temporaryPath = candidate
    self.fd = fd
    signalSlot = TemporaryFiles.add(candidate)
  }

  /// The one absolute name `path` lands at when renamed into place: its directory
  /// with `.`, `..` and symlinks resolved, its last part as given (a symlink there is
  /// replaced, not followed). `t.json`, `./t.json` and `d/../t.json` are one file.
  public static func destination(of path: String) -> String {
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { String(path[...$0]) } ?? "."
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    guard let resolved = realpath(directory, nil) else { return path }  // a missing directory fails at creation
    defer { free(resolved) }
    let base = String(cString: resolved)
    return (base.hasSuffix("/") ? base : base + "/") + name
  }

  /// A destination must name a file, and what is there now must be a file that
  /// renaming may replace: never a directory or a device (renaming over /dev/null
  /// as root would replace the device with a regular file).
  private static func checkDestination(_ path: String) throws(Failure) {
    if path.isEmpty { throw Failure(description: "cannot write \"\": the file name is empty") }
    var info = stat()
    guard stat(path, &info) == 0 else {
      if path.hasSuffix("/") { throw Failure(description: "cannot write \(path): the name ends in /, not a file name") }
      return
    }
    switch info.st_mode & S_IFMT {
    case S_IFREG: return
    case S_IFDIR: throw Failure(description: "cannot write \(path): it is a directory")
    default:
      throw Failure(description: "cannot write \(path): not a regular file (prof writes a file whole and renames it into place); give a file name")
    }
  }

  deinit { discard() }

  /// Writes `bytes` and renames the file into place.
  public func commit(_ bytes: [UInt8]) throws(Failure) {
    guard fd >= 0 else { throw Failure(description: "cannot write \(path): already written or discarded") }
    var written = 0
    while written < bytes.count {
      let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { throw failure("cannot write \(path)") }
      written += count
    }
    guard fsync(fd) == 0 || errno == EINVAL else { throw failure("cannot write \(path)") }
    close(fd)
    fd = -1
    guard rename(temporaryPath, path) == 0 else { throw failure("cannot rename into \(path)") }
    temporaryExists = false
    signalSlot.map(TemporaryFiles.remove)
  }

  /// Removes the temporary file when nothing is to be written.
  public func discard() {
    if fd >= 0 {
      close(fd)
      fd = -1
    }
    if temporaryExists {
      unlink(temporaryPath)
      temporaryExists = false
      signalSlot.map(TemporaryFiles.remove)
    }
  }

  private func failure(_ message: String) -> Failure {
    let reason = String(cString: strerror(errno))
    discard()
    return Failure(description: "\(message): \(reason)")
  }
}
