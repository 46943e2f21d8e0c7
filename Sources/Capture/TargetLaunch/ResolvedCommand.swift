import Glibc

/// The program prof is asked to run, found and checked before anything starts.
public struct ResolvedCommand: Sendable {
  public let path: String
  public let arguments: [String]

  public enum Failure: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    case notExecutable(String)
    case directory(String)
    case staticBinary(String)

    public var description: String {
      switch self {
      case .notFound(let name): "command not found: \(name)"
      case .notExecutable(let path): "not an executable file: \(path)"
      case .directory(let path): "\(path) is a directory, not a program"
      case .staticBinary(let path):
        "\(path) is statically linked (no PT_INTERP): the profiler cannot be preloaded into it"
      }
    }
  }

  /// Looks `command` up on PATH unless it contains a slash, as a shell would.
  /// `preloading`: prof's agent goes into it, so a static binary is refused.
  public init(_ command: [String], path searchPath: String, preloading: Bool = true) throws(Failure) {
    guard let name = command.first else { throw .notFound("") }
    let candidates = name.contains("/")
      ? [name]
      : searchPath.split(separator: ":", omittingEmptySubsequences: false).map { ($0.isEmpty ? "." : String($0)) + "/" + name }
    guard let found = candidates.first(where: Self.isRegularFile) else {
      if name.contains("/") && Self.isDirectory(name) { throw .directory(name) }
      throw .notFound(name)
    }
    guard access(found, X_OK) == 0 else { throw .notExecutable(found) }
    if preloading && ELFFile.kind(of: found) == .staticExecutable { throw .staticBinary(found) }
    self.path = found
    self.arguments = command
  }

  /// `command` looked up on prof's own PATH.
  public init(_ command: [String], preloading: Bool = true) throws(Failure) {
    try self.init(command, path: getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin", preloading: preloading)
  }

  private static func isRegularFile(_ path: String) -> Bool { fileType(path) == S_IFREG }

  private static func isDirectory(_ path: String) -> Bool { fileType(path) == S_IFDIR }

  private static func fileType(_ path: String) -> mode_t? {
    var info = stat()
    return stat(path, &info) == 0 ? info.st_mode & S_IFMT : nil
  }
}

/// Just enough ELF to tell whether the dynamic loader will run (and so preload us).
enum ELFFile {
  enum Kind { case dynamicExecutable, staticExecutable, notELF }

  static func kind(of path: String) -> Kind {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return .notELF }
    defer { close(fd) }
    var header = [UInt8](repeating: 0, count: 64)
    guard pread(fd, &header, 64, 0) == 64, header[0..<4] == [0x7f, 0x45, 0x4c, 0x46], header[4] == 2 else {
      return .notELF  // scripts and 32-bit files: let the kernel and loader decide
    }
    let programHeaders = Int(load(UInt64.self, header, 32))
    let entrySize = Int(load(UInt16.self, header, 54))
    let count = Int(load(UInt16.self, header, 56))
    var table = [UInt8](repeating: 0, count: entrySize * count)
    guard entrySize >= 4, pread(fd, &table, table.count, off_t(programHeaders)) == table.count else { return .notELF }
    let hasInterpreter = (0..<count).contains { load(UInt32.self, table, $0 * entrySize) == 3 }  // PT_INTERP
    return hasInterpreter ? .dynamicExecutable : .staticExecutable
  }

  private static func load<T: FixedWidthInteger>(_: T.Type, _ bytes: [UInt8], _ offset: Int) -> T {
    bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
  }
}
