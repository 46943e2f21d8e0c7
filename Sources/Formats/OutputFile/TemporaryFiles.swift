import Glibc
import Synchronization

/// The temporary files of outputs being written, removed when a terminating signal
/// (SIGINT, SIGTERM, SIGHUP, SIGQUIT) ends prof before they were renamed into place:
/// Ctrl-C during `prof flame` or `prof convert` must not leave `.NAME.PID.0.tmp`
/// behind. The handler only unlinks and re-raises, both async-signal-safe; it is
/// installed for signals whose action is the default, so an ignored SIGHUP (nohup)
/// stays ignored, and signals prof blocks and reads itself (while a program runs)
/// never reach it.
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
    for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] {
      var current = sigaction()
      guard sigaction(signal, nil, &current) == 0, current.__sigaction_handler.sa_handler == nil else { continue }  // SIG_DFL is nil
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
}
