import Glibc

/// A session with a running process's dormant agent, over its control socket
/// (Sources/Agent/STREAM.md, "Control channel"): one request line, then the
/// ordinary agent stream on the same socket until `stop` or the program's exit.
public final class AgentConnection {
  public struct Failure: Error, CustomStringConvertible {
    public let description: String
  }

  public let pid: pid_t
  private let socketFD: Int32
  private var stopped = false

  /// Where the agent of `pid`, run by `uid`, listens.
  public static func socketPath(pid: pid_t, uid: uid_t) -> String { "/tmp/prof-\(uid)/\(pid).sock" }

  /// Removes the socket of `pid`, a process that has ended and been reaped. Its agent
  /// removes it at exit, but not when a signal (SIGKILL, or any it does not handle)
  /// ended the process; prof, which started it, does instead.
  public static func removeSocket(ofEnded pid: pid_t) {
    let path = socketPath(pid: pid, uid: geteuid())
    var info = stat()
    if lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK { unlink(path) }
  }

  /// Connects to `pid`'s agent and sends `request` (e.g. "cpu hz=100 unwind=fp").
  /// Every way this can fail is one line that says what to do.
  public init(pid: pid_t, request: String) throws(Failure) {
    self.pid = pid
    var status = stat()
    guard pid > 0, stat("/proc/\(pid)", &status) == 0 else { throw Failure(description: "no process \(pid) is running") }
    guard status.st_uid == geteuid() || geteuid() == 0 else {
      throw Failure(description: "process \(pid) belongs to user \(status.st_uid): prof can attach only to your own processes (or as root)")
    }
    if ProcessStat(pid: pid)?.state == "Z" {
      throw Failure(description: "process \(pid) has exited (a zombie its parent has not reaped yet): there is nothing left to attach to")
    }
    let path = Self.socketPath(pid: pid, uid: status.st_uid)
    let howToStart = "start it with `prof run -- COMMAND`, or with LD_PRELOAD=$(prof agent)"
    guard access(path, F_OK) == 0 else {
      throw Failure(description: "process \(pid) has no prof agent listening (no \(path)): \(howToStart)")
    }
    socketFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard socketFD >= 0 else { throw Failure(description: "cannot create a socket: \(String(cString: strerror(errno)))") }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
    }
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard connected == 0 else {
      let reason = errno
      close(socketFD)
      if reason == ECONNREFUSED {
        throw Failure(description: "\(path) is stale (no agent answers: the process that made it is gone, and \(pid) is another one): \(howToStart)")
      }
      throw Failure(description: "cannot connect to \(path): \(String(cString: strerror(reason)))")
    }
    guard send(line: request) else {
      defer { close(socketFD) }
      if case .stream(let bytes) = next(timeoutMilliseconds: 500), let refused = refusal(in: bytes) { throw refused }
      throw Failure(description: "process \(pid)'s agent closed the connection")
    }
  }

  deinit { close(socketFD) }

  /// Ends the window: the agent answers with its last records and END.
  public func stop() {
    if !stopped { _ = send(line: "stop") }
    stopped = true
  }

  public enum Event: Equatable {
    case stream([UInt8])
    case closed
    case timeout
  }

  /// The next bytes of the stream, waiting at most `timeoutMilliseconds` (-1: forever).
  public func next(timeoutMilliseconds: Int32) -> Event {
    var watched = pollfd(fd: socketFD, events: Int16(POLLIN), revents: 0)
    let ready = poll(&watched, 1, timeoutMilliseconds)
    if ready == 0 { return .timeout }
    if ready < 0 { return errno == EINTR ? .timeout : .closed }
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    let count = buffer.withUnsafeMutableBytes { recv(socketFD, $0.baseAddress, $0.count, 0) }
    if count < 0 && errno == EINTR { return .timeout }
    return count > 0 ? .stream(Array(buffer.prefix(count))) : .closed
  }

  /// The agent's refusal ("error: busy ..."), if its reply starts with one instead of the stream.
  public func refusal(in bytes: [UInt8]) -> Failure? {
    let prefix = Array("error: ".utf8)
    guard bytes.starts(with: prefix) else { return nil }
    let line = bytes.dropFirst(prefix.count).prefix { $0 != UInt8(ascii: "\n") }
    return Failure(description: "process \(pid)'s agent refused: \(String(decoding: line, as: UTF8.self))")
  }

  private func send(line: String) -> Bool {
    let bytes = Array((line + "\n").utf8)
    return bytes.withUnsafeBytes { Glibc.send(socketFD, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
  }
}
