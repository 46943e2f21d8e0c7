import Glibc

/// The bytes of a whole input file, or one line saying why not in the system's
/// words ("No such file or directory", "Is a directory", "Permission denied"):
/// FileManager.contents(atPath:) says only nil, and guessing the reason misleads.
public enum FileContents {
  public struct Failure: Error, CustomStringConvertible {
    public let path: String
    /// The system's words for it.
    public let reason: String

    public var description: String { "cannot read \(path): \(reason)" }
  }

  public static func read(_ path: String) throws(Failure) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw failure(path) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let count = Glibc.read(fd, &chunk, chunk.count)
      if count < 0 && errno == EINTR { continue }
      if count < 0 { throw failure(path) }
      if count == 0 { return bytes }
      bytes += chunk[..<count]
    }
  }

  private static func failure(_ path: String) -> Failure {
    Failure(path: path, reason: String(cString: strerror(errno)))
  }
}
