import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Starts a program with inherited standard streams and waits for it. Behind a protocol
/// so that tests can stand in a fake that writes canned TSan logs.
public protocol ProcessLauncher: Sendable {
  /// Runs `arguments[0]` (looked up in PATH) and returns its exit status, 128+N when
  /// it was killed by signal N.
  func run(_ arguments: [String], environment: [String: String]) throws -> Int32
}

public struct SpawnLauncher: ProcessLauncher {
  public init() {}

  public func run(_ arguments: [String], environment: [String: String]) throws -> Int32 {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // prof ignores ^C while the child runs so that it can still report what TSan found,
    // and SIGPIPE always (a reader gone from its stderr must not kill it); the child
    // gets the default actions back.
    var defaults = sigset_t()
    sigemptyset(&defaults)
    sigaddset(&defaults, SIGINT)
    sigaddset(&defaults, SIGPIPE)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))

    let previous = signal(SIGINT, SIG_IGN)
    defer { signal(SIGINT, previous) }
    let pid = try spawn(arguments, environment: environment, attributes: &attributes)
    return try wait(for: pid)
  }

  private func spawn(
    _ arguments: [String], environment: [String: String], attributes: inout posix_spawnattr_t
  ) throws -> pid_t {
    let argv = arguments.map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for pointer in argv + envp { free(pointer) } }
    var pid = pid_t()
    let status = posix_spawnp(&pid, arguments[0], nil, &attributes, argv, envp)
    guard status == 0 else {
      throw RaceError.cannotStart(arguments[0], String(cString: strerror(status)))
    }
    return pid
  }

  private func wait(for pid: pid_t) throws -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 {
      guard errno == EINTR else { throw RaceError.cannotWait(String(cString: strerror(errno))) }
    }
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
  }
}
