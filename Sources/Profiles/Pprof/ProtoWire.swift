/// The two protobuf wire types pprof uses, and field numbers named after
/// profile.proto, shared by the encoder and the decoder.
enum WireType: UInt64 {
  case varint = 0
  case fixed64 = 1
  case lengthDelimited = 2
  case fixed32 = 5
}

enum ProfileField {
  static let sampleType: UInt64 = 1  // repeated ValueType
  static let sample: UInt64 = 2  // repeated Sample
  static let mapping: UInt64 = 3  // repeated Mapping
  static let location: UInt64 = 4  // repeated Location
  static let function: UInt64 = 5  // repeated Function
  static let stringTable: UInt64 = 6  // repeated string
  static let dropFrames: UInt64 = 7  // string index
  static let keepFrames: UInt64 = 8  // string index
  static let timeNanos: UInt64 = 9
  static let durationNanos: UInt64 = 10
  static let periodType: UInt64 = 11  // ValueType
  static let period: UInt64 = 12
  static let comment: UInt64 = 13  // repeated string index
  static let defaultSampleType: UInt64 = 14  // string index
}

enum ValueTypeField {
  static let type: UInt64 = 1
  static let unit: UInt64 = 2
}

enum SampleField {
  static let locationID: UInt64 = 1  // repeated uint64, packed
  static let value: UInt64 = 2  // repeated int64, packed
  static let label: UInt64 = 3  // repeated Label
}

enum LabelField {
  static let key: UInt64 = 1
  static let str: UInt64 = 2
  static let num: UInt64 = 3
  static let numUnit: UInt64 = 4
}

enum MappingField {
  static let id: UInt64 = 1
  static let memoryStart: UInt64 = 2
  static let memoryLimit: UInt64 = 3
  static let fileOffset: UInt64 = 4
  static let filename: UInt64 = 5
  static let buildID: UInt64 = 6
  static let hasFunctions: UInt64 = 7
  static let hasFilenames: UInt64 = 8
  static let hasLineNumbers: UInt64 = 9
  static let hasInlineFrames: UInt64 = 10
}

enum LocationField {
  static let id: UInt64 = 1
  static let mappingID: UInt64 = 2
  static let address: UInt64 = 3
  static let line: UInt64 = 4  // repeated Line
  static let isFolded: UInt64 = 5
}

enum LineField {
  static let functionID: UInt64 = 1
  static let line: UInt64 = 2
  static let column: UInt64 = 3
}

enum FunctionField {
  static let id: UInt64 = 1
  static let name: UInt64 = 2
  static let systemName: UInt64 = 3
  static let filename: UInt64 = 4
  static let startLine: UInt64 = 5
}

/// Appends protobuf fields to a byte buffer. Zero values are omitted, as proto3 does.
struct ProtoWriter {
  private(set) var bytes: [UInt8] = []

  mutating func varint(_ value: UInt64) {
    var value = value
    while value >= 0x80 {
      bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
      value >>= 7
    }
    bytes.append(UInt8(value))
  }

  private mutating func tag(_ field: UInt64, _ wireType: WireType) {
    varint(field << 3 | wireType.rawValue)
  }

  mutating func uint64(_ field: UInt64, _ value: UInt64) {
    guard value != 0 else { return }
    tag(field, .varint)
    varint(value)
  }

  /// One entry of an unpacked repeated scalar: written even when zero, since
  /// its position in the list carries meaning.
  mutating func element(_ field: UInt64, _ value: UInt64) {
    tag(field, .varint)
    varint(value)
  }

  mutating func int64(_ field: UInt64, _ value: Int64) {
    uint64(field, UInt64(bitPattern: value))
  }

  mutating func bool(_ field: UInt64, _ value: Bool) {
    uint64(field, value ? 1 : 0)
  }

  mutating func bytes(_ field: UInt64, _ value: some Collection<UInt8>) {
    tag(field, .lengthDelimited)
    varint(UInt64(value.count))
    bytes.append(contentsOf: value)
  }

  mutating func string(_ field: UInt64, _ value: String) {
    bytes(field, value.utf8)
  }

  mutating func packed(_ field: UInt64, _ values: [UInt64]) {
    guard !values.isEmpty else { return }
    var body = ProtoWriter()
    for value in values { body.varint(value) }
    bytes(field, body.bytes)
  }

  mutating func message(_ field: UInt64, _ build: (inout ProtoWriter) -> Void) {
    var body = ProtoWriter()
    build(&body)
    bytes(field, body.bytes)
  }
}
