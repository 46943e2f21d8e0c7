import Glibc

/// The one way prof tells the user something on stderr: "prof: <message>".
public func warn(_ message: String) { say("prof: " + message) }

/// Writes `line` and a newline to stderr in one write, so that messages from
/// several threads never interleave; a closed stderr loses them, nothing else.
public func say(_ line: String) {
  let bytes = Array((line + "\n").utf8)
  bytes.withUnsafeBytes { buffer in
    var offset = 0
    while offset < buffer.count {
      let written = write(2, buffer.baseAddress! + offset, buffer.count - offset)
      if written < 0 && errno == EINTR { continue }
      if written <= 0 { return }
      offset += written
    }
  }
}
