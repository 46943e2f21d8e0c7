import CLaunch
import Glibc

/// How the target ended, in shell terms: its exit code, or 128+N for signal N.
public enum TerminationStatus: Equatable, Sendable {
  case exited(Int32)
  case signaled(Int32)

  init(waitStatus: Int32) {
    let signal = waitStatus & 0x7f
    self = signal == 0 ? .exited((waitStatus >> 8) & 0xff) : .signaled(signal)
  }

  public var shellStatus: Int32 {
    switch self {
    case .exited(let code): code
    case .signaled(let signal): 128 + signal
    }
  }
}

public struct LaunchError: Error, CustomStringConvertible {
  public let description: String
}

/// A child running with the agent preloaded, and the pipe its agent writes to.
/// prof blocks SIGINT and SIGTERM and reads them from a signalfd, so one poll
/// loop sees the stream, the signals and the child's exit (through a pidfd).
public final class TargetProcess {
  public enum Event: Equatable {
    case stream([UInt8])
    case streamClosed
    case exited(TerminationStatus)
    /// A SIGINT or SIGTERM for prof. `fromTerminal`: the kernel sent it to the
    /// whole foreground process group, so the child has it already.
    case signal(Int32, fromTerminal: Bool)
    case timeout
  }

  public let pid: pid_t
  private var streamFD: Int32
  private let signalFD: Int32
  private var pidFD: Int32
  private var previousMask = sigset_t()
  public private(set) var status: TerminationStatus?
  /// User plus system CPU time the child used, itself alone (not the processes it
  /// started and waited for), known once it has exited.
  public private(set) var cpuNanos: UInt64?
  /// CPU time of the processes the child started and waited for, once it has exited.
  public private(set) var childrenCPUNanos: UInt64?
  /// The name of the program the child ran last (the kernel's comm, at most 15
  /// bytes): another than prof started when it exec'd one. Known once it has exited.
  public private(set) var finalProgramName: String?

  /// Starts `command` with `environment`; the agent finds its end of the stream
  /// pipe through the PROF_AGENT_FD variable added here. Without `streamed` there
  /// is no pipe: the agent stays dormant, attachable by pid (`prof run`).
  public init(command: ResolvedCommand, environment: [String: String], streamed: Bool = true) throws(LaunchError) {
    var fds: [Int32] = [-1, -1]
    var environment = environment
    if streamed {
      guard pipe(&fds) == 0 else { throw LaunchError(description: "cannot create a pipe: \(Self.errorText())") }
      _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
      environment[AgentEnvironment.agentFD.name] = String(fds[1])
    }

    var handled = sigset_t()
    sigemptyset(&handled)
    sigaddset(&handled, SIGINT)
    sigaddset(&handled, SIGTERM)
    sigprocmask(SIG_BLOCK, &handled, &previousMask)
    signalFD = signalfd(-1, &handled, Int32(SFD_CLOEXEC))

    let spawned = Self.spawn(command, environment, restoring: previousMask)
    if streamed { close(fds[1]) }
    switch spawned {
    case .success(let pid):
      self.pid = pid
    case .failure(let error):
      if streamed { close(fds[0]) }
      Self.restore(previousMask, signalFD)
      throw error
    }
    self.streamFD = fds[0]
    self.pidFD = prof_pidfd_open(pid)
  }

  deinit {
    if streamFD >= 0 { close(streamFD) }
    if pidFD >= 0 { close(pidFD) }
    Self.restore(previousMask, signalFD)
  }

  private static func restore(_ mask: sigset_t, _ signalFD: Int32) {
    var mask = mask
    close(signalFD)
    sigprocmask(SIG_SETMASK, &mask, nil)
  }

  private static func spawn(_ command: ResolvedCommand, _ environment: [String: String],
                            restoring mask: sigset_t) -> Result<pid_t, LaunchError> {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var mask = mask
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGINT, SIGTERM, SIGPIPE] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigmask(&attributes, &mask)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    let argv = command.arguments.map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid = pid_t()
    let result = posix_spawn(&pid, command.path, nil, &attributes, argv, envp)
    guard result == 0 else {
      return .failure(LaunchError(description: "cannot start \(command.path): \(String(cString: strerror(result)))"))
    }
    return .success(pid)
  }

  /// Waits for the next thing to happen, at most `timeoutMilliseconds` (-1: forever).
  public func nextEvent(timeoutMilliseconds: Int32 = -1) -> Event {
    var polled = [pollfd(fd: streamFD, events: Int16(POLLIN), revents: 0),
                  pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0),
                  pollfd(fd: pidFD, events: Int16(POLLIN), revents: 0)]
    while true {
      let ready = poll(&polled, nfds_t(polled.count), timeoutMilliseconds)
      if ready < 0 && errno == EINTR { continue }
      if ready <= 0 { return .timeout }
      break
    }
    if polled[1].revents != 0, let event = readSignal() { return event }
    if polled[0].revents != 0 { return readStream() }
    if polled[2].revents != 0 { return reap() }
    return .timeout
  }

  private func readStream() -> Event {
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    let count = read(streamFD, &buffer, buffer.count)
    if count > 0 { return .stream(Array(buffer[0..<count])) }
    if count < 0 && errno == EINTR { return .stream([]) }
    close(streamFD)
    streamFD = -1  // poll ignores negative descriptors
    return .streamClosed
  }

  private func readSignal() -> Event? {
    var info = signalfd_siginfo()
    guard read(signalFD, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size else {
      return nil
    }
    return .signal(Int32(info.ssi_signo), fromTerminal: info.ssi_code == SI_KERNEL)
  }

  private func reap() -> Event {
    var waitStatus: Int32 = 0
    var usage = rusage()
    let zombie = ProcessStat(pid: pid)  // read before reaping, while /proc still has it
    guard wait4(pid, &waitStatus, 0, &usage) == pid else { return .timeout }
    // wait4 counts the children it waited for too; /proc tells them apart.
    let total = Self.nanos(usage.ru_utime) + Self.nanos(usage.ru_stime)
    childrenCPUNanos = zombie.map { min($0.childrenCPUNanos, total) }
    cpuNanos = total - (childrenCPUNanos ?? 0)
    finalProgramName = zombie?.name
    close(pidFD)
    pidFD = -1
    let status = TerminationStatus(waitStatus: waitStatus)
    self.status = status
    return .exited(status)
  }

  /// Everything the agent wrote that is still in the pipe, without waiting.
  public func drainStream() -> [UInt8] {
    guard streamFD >= 0 else { return [] }
    _ = fcntl(streamFD, F_SETFL, fcntl(streamFD, F_GETFL) | O_NONBLOCK)
    var collected: [UInt8] = []
    while case .stream(let bytes) = readStream(), !bytes.isEmpty { collected += bytes }
    return collected
  }

  public func send(_ signal: Int32) {
    if status == nil { kill(pid, signal) }
  }

  /// Waits for the child to exit, forwarding SIGINT and SIGTERM sent to prof.
  public func waitForExit() -> TerminationStatus {
    while status == nil {
      switch nextEvent() {
      case .signal(let signal, let fromTerminal): if !fromTerminal { send(signal) }
      case .exited(let status): return status
      default: continue  // stream bytes after the profile was written are not needed
      }
    }
    return status!
  }

  private static func nanos(_ time: timeval) -> UInt64 {
    UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_usec) * 1000
  }

  static func errorText() -> String { String(cString: strerror(errno)) }
}

/// What /proc/PID/stat says of a process: its name and its children's CPU time.
struct ProcessStat {
  var name: String
  var childrenCPUNanos: UInt64

  init?(pid: pid_t) {
    let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let count = read(fd, &buffer, buffer.count)
    guard count > 0 else { return nil }
    let text = buffer[..<count]
    // "pid (name) state ...": the name may hold spaces and parentheses, so it ends at the last ')'.
    guard let open = text.firstIndex(of: UInt8(ascii: "(")), let close = text.lastIndex(of: UInt8(ascii: ")")) else { return nil }
    name = String(decoding: text[(open + 1)..<close], as: UTF8.self)
    // After the name: state(3) ... utime(14) stime(15) cutime(16) cstime(17).
    let fields = text[(close + 1)...].split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
    guard fields.count > 14, let cutime = UInt64(fields[13]), let cstime = UInt64(fields[14]) else { return nil }
    let ticks = UInt64(max(sysconf(Int32(_SC_CLK_TCK)), 1))
    childrenCPUNanos = (cutime + cstime) * 1_000_000_000 / ticks
  }
}

