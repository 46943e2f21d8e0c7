/// Reads protobuf fields from a byte range with every length and index checked,
/// so corrupt input becomes an error, never a crash or an oversized allocation.
struct ProtoReader {
  private let bytes: UnsafeRawBufferPointer
  private(set) var offset: Int
  private let end: Int

  init(_ bytes: UnsafeRawBufferPointer) {
    self.bytes = bytes
    self.offset = 0
    self.end = bytes.count
  }

  /// A reader of `bytes` from `offset`, which may lie beyond their end (then it is at its end).
  init(_ bytes: UnsafeRawBufferPointer, from offset: Int) {
    self.init(bytes, from: offset, to: max(offset, bytes.count))
  }

  private init(_ bytes: UnsafeRawBufferPointer, from offset: Int, to end: Int) {
    self.bytes = bytes
    self.offset = offset
    self.end = end
  }

  var isAtEnd: Bool { offset >= end }

  mutating func varint() throws(ProfileFormatError) -> UInt64 {
    var result: UInt64 = 0
    var shift: UInt64 = 0
    while offset < end {
      let byte = bytes[offset]
      offset += 1
      if shift == 63 && byte > 1 { throw .malformed("varint overflows 64 bits at byte \(offset - 1)") }
      result |= UInt64(byte & 0x7f) << shift
      if byte < 0x80 { return result }
      shift += 7
    }
    throw .truncated("varint at byte \(offset)")
  }

  mutating func field() throws(ProfileFormatError) -> (number: UInt64, wireType: WireType) {
    let key = try varint()
    guard let wireType = WireType(rawValue: key & 7) else {
      throw .malformed("unsupported wire type \(key & 7) at byte \(offset)")
    }
    guard key >> 3 != 0 else { throw .malformed("field number 0 at byte \(offset)") }
    return (key >> 3, wireType)
  }

  /// The body of a length-delimited field as a reader of its own.
  mutating func message() throws(ProfileFormatError) -> ProtoReader {
    let length = try varint()
    guard length <= UInt64(end - offset) else {
      throw .truncated("field of \(length) bytes at byte \(offset), \(end - offset) left")
    }
    let body = ProtoReader(bytes, from: offset, to: offset + Int(length))
    offset += Int(length)
    return body
  }

  mutating func string() throws(ProfileFormatError) -> String {
    let body = try message()
    return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[body.offset..<body.end]), as: UTF8.self)
  }

  mutating func skip(_ wireType: WireType) throws(ProfileFormatError) {
    switch wireType {
    case .varint: _ = try varint()
    case .lengthDelimited: _ = try message()
    case .fixed64: try advance(8)
    case .fixed32: try advance(4)
    }
  }

  private mutating func advance(_ count: Int) throws(ProfileFormatError) {
    guard end - offset >= count else { throw .truncated("fixed field at byte \(offset)") }
    offset += count
  }

  /// A repeated scalar, accepted packed or unpacked as protobuf requires.
  mutating func repeated<Value: FixedWidthInteger>(_ wireType: WireType, into values: inout [Value]) throws(ProfileFormatError) {
    switch wireType {
    case .varint:
      values.append(Value(truncatingIfNeeded: try varint()))
    case .lengthDelimited:
      var body = try message()
      // One allocation per field: a packed run holds one varint per byte below 0x80.
      values.reserveCapacity(values.count + body.varintCount)
      while !body.isAtEnd { values.append(Value(truncatingIfNeeded: try body.varint())) }
    default:
      throw .malformed("repeated integer with wire type \(wireType.rawValue) at byte \(offset)")
    }
  }

  private var varintCount: Int {
    var count = 0
    for index in offset..<end where bytes[index] < 0x80 { count += 1 }
    return count
  }
}

/// What is wrong with bytes that should hold a profile.
public enum ProfileFormatError: Error, Equatable, CustomStringConvertible {
  case truncated(String)
  case malformed(String)
  case invalid(String)
  case notAProfile(String)
  /// Valid, maybe, but beyond what a reader will hold in memory.
  case tooLarge(String)

  public var description: String {
    switch self {
    case .truncated(let detail): "truncated profile: \(detail)"
    case .malformed(let detail): "malformed profile: \(detail)"
    case .invalid(let detail): "invalid profile: \(detail)"
    case .notAProfile(let detail): "not a pprof profile: \(detail)"
    case .tooLarge(let detail): "profile too large: \(detail)"
    }
  }
}
