import CLaunch
import Glibc
import OutputFile

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

/// A failure to start a program, said in one line.
public struct LaunchError: Error, CustomStringConvertible {
  public let description: String

  public init(description: String) { self.description = description }
}

/// The one way prof runs a program (cpu, heap, trace, race, bench): a child whose
/// exit, and one pipe from it (the agent's stream, or the program's standard
/// output), prof watches in one poll loop with the signals sent to prof. prof
/// blocks every signal that would end it (`forwardedSignals`) and reads them from
/// a signalfd, so that a closed terminal, a kill or Ctrl-C reach the program and
/// prof still writes what it collected, then exits with the program's status.
public final class TargetProcess {
  public enum Event: Equatable {
    case stream([UInt8])
    case streamClosed
    case exited(TerminationStatus)
    /// A signal for prof. `fromTerminal`: the kernel sent it to the whole
    /// foreground process group, so the child has it already.
    case signal(Int32, fromTerminal: Bool)
    case timeout
  }

  /// What prof reads from the child.
  public enum Pipe: Sendable {
    /// The agent's stream: the agent finds the pipe through PROF_AGENT_FD.
    case agentStream
    /// The program's standard output.
    case standardOutput
    /// Nothing: the program's output goes where prof's goes.
    case none
  }

  /// The signals that would end prof: prof forwards them to the program instead of
  /// dying with it orphaned.
  public static let forwardedSignals = terminatingSignals

  public let pid: pid_t
  private var streamFD: Int32
  private let signalFD: Int32
  private var pidFD: Int32
  private var previousMask = sigset_t()
  public private(set) var status: TerminationStatus?
  /// The last signal sent to prof while `waitForExit` waited (forwarded to the
  /// program, or the terminal's, which the program has already): someone stopping it.
  public private(set) var receivedSignal: Int32?
  /// User plus system CPU time the child used, itself alone (not the processes it
  /// started and waited for), known once it has exited.
  public private(set) var cpuNanos: UInt64?
  /// CPU time of the processes the child started and waited for, once it has exited.
  public private(set) var childrenCPUNanos: UInt64?
  /// The name of the program the child ran last (the kernel's comm, at most 15
  /// bytes): another than prof started when it exec'd one. Known once it has exited.
  public private(set) var finalProgramName: String?

  /// Starts `command` with `environment`, reading `pipe` from it;
  /// `outputToStandardError` sends the program's standard output to prof's stderr.
  public init(command: ResolvedCommand, environment: [String: String], pipe reading: Pipe = .agentStream,
              outputToStandardError: Bool = false) throws(LaunchError) {
    var fds: [Int32] = [-1, -1]
    guard reading == .none || pipe(&fds) == 0 else {
      throw LaunchError(description: "cannot create a pipe: \(Self.errorText())")
    }
    if reading != .none { _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC) }
    var environment = environment
    if reading == .agentStream { environment[AgentEnvironment.agentFD.name] = String(fds[1]) }
    var handled = sigset_t()
    sigemptyset(&handled)
    for signal in Self.forwardedSignals { sigaddset(&handled, signal) }
    sigprocmask(SIG_BLOCK, &handled, &previousMask)
    signalFD = signalfd(-1, &handled, Int32(SFD_CLOEXEC | SFD_NONBLOCK))
    let output: Int32? = reading == .standardOutput ? fds[1] : outputToStandardError ? 2 : nil
    let spawned = Self.spawn(command, environment, output: output, keeping: reading == .none ? [] : [fds[1]],
                             restoring: previousMask)
    if fds[1] >= 0 { close(fds[1]) }
    switch spawned {
    case .success(let pid):
      self.pid = pid
    case .failure(let error):
      if fds[0] >= 0 { close(fds[0]) }
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

  /// Unblocks the signals again. Those that came after the program ended are
  /// dropped: prof ends with the program's status, not killed by a late SIGHUP.
  private static func restore(_ mask: sigset_t, _ signalFD: Int32) {
    var mask = mask
    var info = signalfd_siginfo()
    while read(signalFD, &info, MemoryLayout<signalfd_siginfo>.size) > 0 {}
    close(signalFD)
    sigprocmask(SIG_SETMASK, &mask, nil)
  }

  /// `output`: the descriptor that becomes the program's standard output, or nil
  /// for prof's own. `kept`: descriptors the program gets besides those prof
  /// inherited (the agent's stream); prof's others are closed in it.
  private static func spawn(_ command: ResolvedCommand, _ environment: [String: String], output: Int32?,
                            keeping kept: Set<Int32>, restoring mask: sigset_t) -> Result<pid_t, LaunchError> {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var mask = mask
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in forwardedSignals + [SIGPIPE] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigmask(&attributes, &mask)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if let output { posix_spawn_file_actions_adddup2(&actions, output, 1) }
    // After the dup2, which may read one of them. A descriptor another thread closed
    // meanwhile is no error: glibc ignores a close that fails with EBADF.
    for descriptor in InheritedDescriptors.toClose(keeping: kept) { posix_spawn_file_actions_addclose(&actions, descriptor) }

    let argv = command.arguments.map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid = pid_t()
    let result = posix_spawn(&pid, command.path, &actions, &attributes, argv, envp)
    guard result == 0 else {
      return .failure(LaunchError(description: "cannot start \(command.path): \(whyNotStarted(command.path, result))"))
    }
    return .success(pid)
  }

  /// posix_spawn's error for `path`, said of what is missing: ENOENT for a file that
  /// exists means the program that runs it does not (a script's #! interpreter, an
  /// ELF's dynamic loader).
  private static func whyNotStarted(_ path: String, _ error: Int32) -> String {
    guard error == ENOENT, access(path, F_OK) == 0 else { return String(cString: strerror(error)) }
    if let interpreter = scriptInterpreter(path) { return "its #! interpreter \(interpreter) does not exist" }
    return "the dynamic loader it names does not exist"
  }

  /// The program a `#!` line names, nil when the file does not start with one.
  private static func scriptInterpreter(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var head = [UInt8](repeating: 0, count: 256)  // the kernel reads at most 256 bytes of it too
    let count = read(fd, &head, head.count)
    guard count > 2, head[0] == UInt8(ascii: "#"), head[1] == UInt8(ascii: "!") else { return nil }
    let line = head[2..<count].prefix { $0 != UInt8(ascii: "\n") }
    let words = line.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
    return words.first.map { String(decoding: $0, as: UTF8.self) }
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
      if polled[1].revents != 0, let event = readSignal() { return event }
      if polled[0].revents != 0 { return readStream() }
      if polled[2].revents != 0 { return reap() }
      // Only a signal that is not passed on: wait on.
    }
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
    // A timer's expiry is a profiler of prof sampling it, not someone asking the program to stop.
    guard info.ssi_code != SI_TIMER else { return nil }
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

  /// Waits for the child to exit, forwarding the signals sent to prof; what it
  /// writes to the pipe goes to `read` (nothing is kept once a profile is written).
  public func waitForExit(reading read: ([UInt8]) -> Void) -> TerminationStatus {
    while status == nil {
      switch nextEvent() {
      case .signal(let signal, let fromTerminal):
        receivedSignal = signal
        if !fromTerminal { send(signal) }
      case .stream(let bytes): read(bytes)
      case .exited: read(drainStream())
      case .streamClosed, .timeout: continue
      }
    }
    return status!
  }

  public func waitForExit() -> TerminationStatus { waitForExit { _ in } }

  private static func nanos(_ time: timeval) -> UInt64 {
    UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_usec) * 1000
  }

  static func errorText() -> String { String(cString: strerror(errno)) }
}

extension TargetProcess {
  /// Whether `pid` is gone, or a zombie (exited, not yet reaped by its parent).
  public static func hasEnded(_ pid: pid_t) -> Bool { ProcessStat(pid: pid).map { $0.state == "Z" } ?? true }
}

/// What /proc/PID/stat says of a process: its name, its state and its children's CPU time.
struct ProcessStat {
  var name: String
  /// R, S, D, ..., or Z for one that has exited and waits to be reaped.
  var state: Character
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
    guard fields.count > 14, let state = fields[0].first, let cutime = UInt64(fields[13]), let cstime = UInt64(fields[14]) else { return nil }
    let ticks = UInt64(max(sysconf(Int32(_SC_CLK_TCK)), 1))
    self.state = state
    childrenCPUNanos = (cutime + cstime) * 1_000_000_000 / ticks
  }
}

