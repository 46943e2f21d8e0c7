import AgentStream
import ProfStreamFormat

/// The bytes of a C value as the agent writes it, cut to `size` for records with a variable tail.
func bytes<T>(of value: T, size: Int? = nil) -> [UInt8] {
  var value = value
  let raw = withUnsafeBytes(of: &value) { Array($0) }
  return Array(raw.prefix(size ?? raw.count))
}

/// The stream header of the version this prof writes.
let streamHeader = bytes(of: PROF_STREAM_MAGIC) + bytes(of: UInt64(PROF_STREAM_VERSION))

/// Feeds the stream to a decoder `chunk` bytes at a time, as a pipe may deliver it;
/// the decoder comes back for what it holds or skipped.
func decodeInChunks(_ stream: [UInt8], chunk: Int) throws -> (records: [AgentRecord], decoder: AgentStreamDecoder) {
  var decoder = AgentStreamDecoder()
  var records: [AgentRecord] = []
  for start in stride(from: 0, to: stream.count, by: chunk) {
    decoder.append(stream[start..<min(start + chunk, stream.count)])
    while let record = try decoder.next() { records.append(record) }
  }
  return (records, decoder)
}
