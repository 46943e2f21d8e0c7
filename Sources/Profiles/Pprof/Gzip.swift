import CZlib

/// gzip through zlib: pprof files are gzip-compressed profile.proto messages.
public enum Gzip {
  public static func isCompressed(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
  }

  /// The size a gzip member's trailer gives (ISIZE, the size mod 2^32), believed only as
  /// far as deflate can expand (1032:1) and the limit: one allocation instead of a
  /// doubling array, whose last copy briefly holds one and a half times the data.
  private static func expectedSize(_ input: [UInt8], limit: Int) -> Int {
    guard isCompressed(input), input.count >= 18 else { return 0 }
    let trailer = input.suffix(4).reversed().reduce(0) { $0 << 8 | Int($1) }
    return min(trailer, input.count * 1032, limit)
  }

  public static func compress(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
    var stream = z_stream()
    // windowBits 15 + 16 asks zlib for a gzip header and trailer.
    precondition(deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                               ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK)
    defer { deflateEnd(&stream) }
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 32)
    let produced = input.withUnsafeBufferPointer { source in
      output.withUnsafeMutableBufferPointer { destination in
        stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
        stream.avail_in = uInt(source.count)
        stream.next_out = destination.baseAddress
        stream.avail_out = uInt(destination.count)
        let status = deflate(&stream, Z_FINISH)
        precondition(status == Z_STREAM_END, "deflateBound was too small")
        return destination.count - Int(stream.avail_out)
      }
    }
    output.removeSubrange(produced...)
    return output
  }

  /// gzip members one after another (as `cat a.gz b.gz` makes) are one stream, as
  /// gzip(1) and Go's gzip.Reader read them; anything else after a member is an error.
  /// Output beyond `limit` bytes is refused before it is held (a gzip bomb expands
  /// 1000:1), and the buffer never grows past the limit.
  public static func decompress(_ input: [UInt8],
                                limit: Int = ProfileDecoder.memoryBudget) throws(ProfileFormatError) -> [UInt8] {
    var stream = z_stream()
    // windowBits 15 + 32: accept gzip or zlib headers.
    guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw .malformed("zlib could not start")
    }
    defer { inflateEnd(&stream) }
    var output: [UInt8] = []
    output.reserveCapacity(expectedSize(input, limit: limit))
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    var trailingGarbage = false, beyondLimit = false
    let status: Int32 = input.withUnsafeBufferPointer { source in
      stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
      stream.avail_in = uInt(source.count)
      while true {
        let status = chunk.withUnsafeMutableBufferPointer { buffer in
          stream.next_out = buffer.baseAddress
          stream.avail_out = uInt(buffer.count)
          return inflate(&stream, Z_NO_FLUSH)
        }
        let produced = chunk.count - Int(stream.avail_out)
        guard produced <= limit - output.count else {
          beyondLimit = true
          return status
        }
        if output.count + produced > output.capacity {
          // Doubling, but straight to the limit from past a quarter of it, so that growing (old
          // and new buffer at once) never takes more than one and a half times the limit.
          let doubled = max(2 * output.capacity, output.count + produced)
          output.reserveCapacity(doubled > limit / 2 ? limit : doubled)
        }
        output.append(contentsOf: chunk[0..<produced])
        if status == Z_STREAM_END && stream.avail_in > 0 {
          let next = source.count - Int(stream.avail_in)
          guard isCompressed(Array(source[next..<min(next + 2, source.count)])) else {
            trailingGarbage = true
            return Z_DATA_ERROR
          }
          inflateReset(&stream)
          continue
        }
        if status != Z_OK { return status }
        if stream.avail_in == 0 && stream.avail_out != 0 { return Z_BUF_ERROR }
      }
    }
    if beyondLimit { throw .tooLarge("expands beyond \(limit >> 20) MiB, prof's limit for one profile") }
    switch status {
    case Z_STREAM_END: return output
    case Z_BUF_ERROR: throw .truncated("gzip stream ends early")
    default: throw .malformed(trailingGarbage ? "bytes after the gzip stream are not another gzip member" : "gzip data is corrupt")
    }
  }
}

extension Profile {
  /// The bytes of a .pb.gz file.
  public func gzipped() -> [UInt8] { Gzip.compress(ProfileEncoder.encode(self)) }

  /// Reads a profile from file bytes, gzip-compressed or raw.
  public init(fileBytes: [UInt8], samples: ProfileDecoder.Samples = .exact,
              memoryBudget: Int = ProfileDecoder.memoryBudget) throws(ProfileFormatError) {
    if Gzip.isCompressed(fileBytes) {
      self = try ProfileDecoder.decode(Gzip.decompress(fileBytes, limit: memoryBudget), samples: samples,
                                       memoryBudget: memoryBudget)
      return
    }
    do {
      self = try ProfileDecoder.decode(fileBytes, samples: samples, memoryBudget: memoryBudget)
    } catch {
      // pprof files are nearly always gzipped: raw bytes that do not parse are most
      // likely some other kind of file, and saying so helps more than a byte offset.
      switch error {
      case .malformed(let detail), .truncated(let detail):
        throw ProfilePrefixCheck.notAProfile(detail)
      case .invalid, .notAProfile, .tooLarge:
        throw error
      }
    }
  }
}
