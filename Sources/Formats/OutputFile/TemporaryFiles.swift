import CLaunch
import Glibc
import Synchronization

/// The temporary files of outputs being written, removed when a terminating signal
/// (any of `terminatingSignals`: SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, ...)
/// ends prof before they were renamed into place: Ctrl-C or kill -USR1 during
/// `prof flame` or `prof convert` must not leave `.NAME.PID.0.tmp` behind. The
/// handler only unlinks and re-raises, both async-signal-safe, so prof still ends
/// with 128+N. It replaces the default action, and the Swift runtime's SIGQUIT
/// handler (which does not end prof: SIGQUIT was ignored); an ignored SIGHUP (nohup)
/// stays ignored, another library's handler (an agent sampling prof with SIGUSR1)
/// stays, and signals prof blocks and reads itself (while a program runs) never
/// reach it.
enum TemporaryFiles {
  static let capacity = 64
  static let pathCapacity = Int(PATH_MAX)
  /// Fixed storage the handler reads without allocating: one path per slot, and
  /// whether the slot holds one.
  nonisolated(unsafe) private static let paths: UnsafeMutablePointer<CChar> = {
    let storage = UnsafeMutablePointer<CChar>.allocate(capacity: capacity * pathCapacity)
    storage.initialize(repeating: 0, count: capacity * pathCapacity)
    return storage
  }()
  nonisolated(unsafe) private static let inUse: UnsafeMutablePointer<Bool> = {
    let flags = UnsafeMutablePointer<Bool>.allocate(capacity: capacity)
    flags.initialize(repeating: false, count: capacity)
    return flags
  }()
  private static let registration = Mutex(false)  // whether the handlers are installed

  /// Remembers `path` until `remove(slot:)`; nil when every slot is taken or the path
  /// is too long (the file is then only removed by the normal failure paths).
  static func add(_ path: String) -> Int? {
    registration.withLock { installed -> Int? in
      let bytes = Array(path.utf8)
      guard bytes.count < pathCapacity, let slot = (0..<capacity).first(where: { !inUse[$0] }) else { return nil }
      let start = paths + slot * pathCapacity
      for (offset, byte) in bytes.enumerated() { start[offset] = CChar(bitPattern: byte) }
      start[bytes.count] = 0
      inUse[slot] = true
      // After the storage exists: the handler must never be the one to create it.
      if !installed {
        installHandlers()
        installed = true
      }
      return slot
    }
  }

  static func remove(slot: Int) {
    registration.withLock { _ in inUse[slot] = false }
  }

  private static func installHandlers() {
    for signal in terminatingSignals {
      var current = sigaction()
      guard sigaction(signal, nil, &current) == 0, isReplaceable(current) else { continue }
      var action = sigaction()
      action.__sigaction_handler.sa_handler = { signal in
        for slot in 0..<TemporaryFiles.capacity where TemporaryFiles.inUse[slot] {
          unlink(TemporaryFiles.paths + slot * TemporaryFiles.pathCapacity)
        }
        Glibc.signal(signal, SIG_DFL)
        raise(signal)
      }
      sigemptyset(&action.sa_mask)
      sigaction(signal, &action, nil)
    }
  }

  /// The default action (nil), or a handler of the Swift runtime, which prof links
  /// (whether as libswiftCore.so or statically): told apart by the module it lies in.
  private static func isReplaceable(_ action: sigaction) -> Bool {
    guard let handler = action.__sigaction_handler.sa_handler else { return true }  // SIG_DFL
    guard !isIgnoring(action), let runtimeSymbol = dlsym(nil, "swift_retain")  // RTLD_DEFAULT: wherever the runtime was linked
    else { return false }
    let address = unsafeBitCast(handler, to: UnsafeRawPointer.self)
    return prof_same_module(address, runtimeSymbol) != 0
  }
}
