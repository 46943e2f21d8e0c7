import CZlib

/// gzip through zlib: pprof files are gzip-compressed profile.proto messages.
public enum Gzip {
  /// Decompressed input larger than this is refused rather than allocated.
  public static let maximumExpandedSize = 1 << 30

  public static func isCompressed(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
  }

  /// The size a gzip member's trailer gives (ISIZE, the size mod 2^32), believed only as
  /// far as deflate can expand (1032:1) and the expansion limit: one allocation instead of
  /// a doubling array, whose last copy briefly holds one and a half times the data.
  private static func expectedSize(_ input: [UInt8]) -> Int {
    guard isCompressed(input), input.count >= 18 else { return 0 }
    let trailer = input.suffix(4).reversed().reduce(0) { $0 << 8 | Int($1) }
    return min(trailer, input.count * 1032, maximumExpandedSize)
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
  public static func decompress(_ input: [UInt8]) throws(ProfileFormatError) -> [UInt8] {
    var stream = z_stream()
    // windowBits 15 + 32: accept gzip or zlib headers.
    guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw .malformed("zlib could not start")
    }
    defer { inflateEnd(&stream) }
    var output: [UInt8] = []
    output.reserveCapacity(expectedSize(input))
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    var trailingGarbage = false
    let status: Int32 = input.withUnsafeBufferPointer { source in
      stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
      stream.avail_in = uInt(source.count)
      while true {
        let status = chunk.withUnsafeMutableBufferPointer { buffer in
          stream.next_out = buffer.baseAddress
          stream.avail_out = uInt(buffer.count)
          return inflate(&stream, Z_NO_FLUSH)
        }
        output.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
        if status == Z_STREAM_END && stream.avail_in > 0 {
          let next = source.count - Int(stream.avail_in)
          guard isCompressed(Array(source[next..<min(next + 2, source.count)])) else {
            trailingGarbage = true
            return Z_DATA_ERROR
          }
          inflateReset(&stream)
          continue
        }
        if status != Z_OK || output.count > maximumExpandedSize { return status }
        if stream.avail_in == 0 && stream.avail_out != 0 { return Z_BUF_ERROR }
      }
    }
    if output.count > maximumExpandedSize { throw .tooLarge("expands beyond \(maximumExpandedSize >> 20) MiB") }
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
              memoryBudget: Int = ProfileDecoder.defaultMemoryBudget) throws(ProfileFormatError) {
    if Gzip.isCompressed(fileBytes) {
      self = try ProfileDecoder.decode(Gzip.decompress(fileBytes), samples: samples, memoryBudget: memoryBudget)
      return
    }
    do {
      self = try ProfileDecoder.decode(fileBytes, samples: samples, memoryBudget: memoryBudget)
    } catch {
      // pprof files are nearly always gzipped: raw bytes that do not parse are most
      // likely some other kind of file, and saying so helps more than a byte offset.
      switch error {
      case .malformed(let detail), .truncated(let detail):
        throw .notAProfile("neither gzip-compressed nor a profile.proto message (\(detail))")
      case .invalid, .notAProfile, .tooLarge:
        throw error
      }
    }
  }
}
