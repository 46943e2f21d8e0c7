import Glibc

/// prof's standard output and standard error, written with write(2). FileHandle.write
/// traps on a closed or full stream (a `try!` inside it); here a failed write of
/// output is an error to report and a failed diagnostic is dropped, so that prof never
/// dies of its own messages and the program's status always comes back.
public enum StandardStream: Int32 {
  case output = 1
  case error = 2

  public struct Failure: Error, CustomStringConvertible {
    public let description: String
  }

  /// The standard descriptors that were closed when prof started. Set once, by
  /// `reserve()`, before any other thread exists.
  nonisolated(unsafe) private static var closedAtStart: Set<Int32> = []

  /// Opens /dev/null on each of 0, 1 and 2 that is closed, so that no file prof opens
  /// later takes its number (an output file as fd 2 would receive prof's warnings).
  /// They are close-on-exec: the program prof runs sees them closed, as prof did. A
  /// write to a stream that was closed still fails (EBADF), so that output sent
  /// nowhere is never taken for output written: each is opened for the direction
  /// its stream is not used in (stdout read-only), so that stdio's writes fail too
  /// (`prof --help >&-`, printed by ArgumentParser, is exit 1).
  ///
  /// SIGPIPE is ignored from here on, so that a reader gone from stderr cannot kill
  /// prof; programs prof starts get the default back (their launchers reset it).
  public static func reserve() {
    for descriptor: Int32 in 0...2 where fcntl(descriptor, F_GETFD) < 0 && errno == EBADF {
      let opened = open("/dev/null", (descriptor == 0 ? O_WRONLY : O_RDONLY) | O_CLOEXEC)
      if opened >= 0 && opened != descriptor { close(opened) }  // another thread took it: never here
      closedAtStart.insert(descriptor)
    }
    signal(SIGPIPE, SIG_IGN)
  }

  /// Output printed through stdio (`print`, as ArgumentParser prints --help and
  /// --version) is flushed when prof exits; a flush that fails there would be lost
  /// with exit 0. This turns it into one line and exit 1.
  public static func checkPrintedOutputAtExit() {
    atexit {
      guard fflush(nil) != 0 else { return }  // every stdio stream; prof prints only to stdout
      StandardStream.endQuietlyIfTheReaderLeft(errno)
      StandardStream.say("Error: cannot write to standard output: \(String(cString: strerror(errno)))")
      _exit(1)
    }
  }

  /// Writes all of `bytes`. A reader that went away from standard output ends prof
  /// as SIGPIPE would have (`prof top x | head -1` stays quiet); any other failure
  /// is thrown as one line.
  public func write(_ bytes: some Collection<UInt8>) throws(Failure) {
    if let reason = failure(writing: bytes) {
      if self == .output { Self.endQuietlyIfTheReaderLeft(reason) }
      throw Failure(description: "cannot write to \(name): \(String(cString: strerror(reason)))")
    }
  }

  public func write(_ text: String) throws(Failure) {
    try write(text.utf8)
  }

  /// A reader gone from standard output (EPIPE) ends prof as SIGPIPE ends `cat`.
  private static func endQuietlyIfTheReaderLeft(_ reason: Int32) {
    guard reason == EPIPE else { return }
    signal(SIGPIPE, SIG_DFL)
    raise(SIGPIPE)
  }

  /// A message for the user on standard error, dropped if stderr cannot take it.
  public static func say(_ line: String) {
    _ = error.failure(writing: (line + "\n").utf8)
  }

  private var name: String { self == .output ? "standard output" : "standard error" }

  /// The errno of the write that failed, or nil when every byte was written.
  private func failure(writing bytes: some Collection<UInt8>) -> Int32? {
    if Self.closedAtStart.contains(rawValue) { return EBADF }
    let buffer = Array(bytes)
    var written = 0
    while written < buffer.count {
      let count = buffer[written...].withUnsafeBytes { Glibc.write(rawValue, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      if count < 0 { return errno }
      if count == 0 { return EIO }
      written += count
    }
    return nil
  }
}
