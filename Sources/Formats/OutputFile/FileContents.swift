import Glibc

/// The bytes of a whole input file, or one line saying why not in the system's
/// words ("No such file or directory", "Is a directory", "Permission denied"):
/// FileManager.contents(atPath:) says only nil, and guessing the reason misleads.
/// Reading stops at a stated limit (`/dev/zero` never ends) and as soon as the
/// reader's check says the bytes so far cannot begin what it wants (`/dev/urandom`).
public enum FileContents {
  public struct Failure: Error, CustomStringConvertible {
    public enum Kind: Sendable { case unreadable, beyondLimit, rejected }
    public let path: String
    /// The system's words for it, or the check's.
    public let reason: String
    public let kind: Kind

    public var description: String {
      switch kind {
      case .unreadable: "cannot read \(path): \(reason)"
      case .beyondLimit, .rejected: "\(path): \(reason)"
      }
    }
  }

  /// Reads at most `limit` bytes. `check` sees the bytes read so far after each read
  /// and returns why they cannot begin a file the caller can use, or nil.
  public static func read(_ path: String, limit: Int,
                          check: (_ bytesSoFar: [UInt8]) -> String? = { _ in nil }) throws(Failure) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw failure(path) }
    defer { close(fd) }
    let beyondLimit = Failure(path: path, reason: "larger than \(mebibytes(limit)), prof's limit for one input file",
                              kind: .beyondLimit)
    var status = stat()
    var bytes: [UInt8] = []
    if fstat(fd, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG {
      guard status.st_size <= limit else { throw beyondLimit }
      bytes.reserveCapacity(Int(status.st_size))
    }
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let count = Glibc.read(fd, &chunk, chunk.count)
      if count < 0 && errno == EINTR { continue }
      if count < 0 { throw failure(path) }
      if count == 0 { return bytes }
      guard count <= limit - bytes.count else { throw beyondLimit }
      if bytes.count + count > bytes.capacity {
        // Doubling, but straight to the limit from past a quarter of it, so that growing (old
        // and new buffer at once) never takes more than one and a half times the limit.
        let doubled = max(2 * bytes.capacity, bytes.count + count)
        bytes.reserveCapacity(doubled > limit / 2 ? limit : doubled)
      }
      bytes += chunk[..<count]
      if let reason = check(bytes) { throw Failure(path: path, reason: reason, kind: .rejected) }
    }
  }

  private static func mebibytes(_ bytes: Int) -> String {
    bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
  }

  private static func failure(_ path: String) -> Failure {
    Failure(path: path, reason: String(cString: strerror(errno)), kind: .unreadable)
  }
}
