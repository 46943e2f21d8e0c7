import Glibc

/// The one way prof tells the user something on stderr: "prof: <message>", one
/// line, written whole (a single write) so that concurrent messages never interleave.
public func warn(_ message: String) {
  let line = Array(("prof: " + message + "\n").utf8)
  line.withUnsafeBytes { bytes in
    var offset = 0
    while offset < bytes.count {
      let written = write(2, bytes.baseAddress! + offset, bytes.count - offset)
      if written < 0 && errno == EINTR { continue }
      if written <= 0 { return }
      offset += written
    }
  }
}
