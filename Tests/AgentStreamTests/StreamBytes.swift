import ProfStreamFormat

/// The bytes of a C value as the agent writes it, cut to `size` for records with a variable tail.
func bytes<T>(of value: T, size: Int? = nil) -> [UInt8] {
  var value = value
  let raw = withUnsafeBytes(of: &value) { Array($0) }
  return Array(raw.prefix(size ?? raw.count))
}

/// The stream header of the version this prof writes.
let streamHeader = bytes(of: PROF_STREAM_MAGIC) + bytes(of: UInt64(PROF_STREAM_VERSION))
