/// Whether the first bytes of a file still being read can begin a profile, so that a
/// reader of `/dev/urandom` stops at once instead of at its size limit: a pprof file is
/// gzip, or a profile.proto message, whose top-level fields are walked as they arrive
/// by the decoder's rules (a field's length must also fit within the limit).
public struct ProfilePrefixCheck {
  private let limit: Int
  /// Where the next top-level field starts; the bytes before it are known good.
  private var nextField = 0
  private var isGzip = false

  public init(limit: Int = ProfileDecoder.memoryBudget) { self.limit = limit }

  /// Why `bytesSoFar` (the file's first bytes) cannot begin a profile, or nil.
  public mutating func problem(_ bytesSoFar: [UInt8]) -> ProfileFormatError? {
    if isGzip || (bytesSoFar.count >= 2 && Gzip.isCompressed(bytesSoFar)) {
      isGzip = true
      return nil
    }
    if bytesSoFar.count < 2 && bytesSoFar.first == 0x1f { return nil }
    return bytesSoFar.withUnsafeBytes { raw in
      var reader = ProtoReader(raw, from: nextField)
      while !reader.isAtEnd {
        do throws(ProfileFormatError) {
          let (_, wireType) = try reader.field()
          if wireType == .lengthDelimited {
            let length = try reader.varint()
            guard reader.offset <= limit, length <= UInt64(limit - reader.offset) else {
              return Self.notAProfile("field of \(length) bytes at byte \(reader.offset) ends beyond the \(limit >> 20) MiB limit")
            }
            reader = ProtoReader(raw, from: reader.offset + Int(length))
          } else {
            try reader.skip(wireType)
          }
          nextField = reader.offset
        } catch .truncated {
          return nil  // more bytes may complete the field
        } catch .malformed(let detail) {
          return Self.notAProfile(detail)
        } catch {
          return error
        }
      }
      return nil
    }
  }

  /// As the decoder says it of a whole file (Profile(fileBytes:)).
  static func notAProfile(_ detail: String) -> ProfileFormatError {
    .notAProfile("neither gzip-compressed nor a profile.proto message (\(detail))")
  }
}
