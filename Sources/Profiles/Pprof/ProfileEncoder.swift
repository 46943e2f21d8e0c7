/// Writes a Profile as a profile.proto message (uncompressed), interning every
/// string into the string table, whose entry 0 is always "".
public enum ProfileEncoder {
  public static func encode(_ profile: Profile) -> [UInt8] {
    var strings = StringTable()
    var body = ProtoWriter()
    for type in profile.sampleTypes {
      body.message(ProfileField.sampleType) { encode(type, into: &$0, &strings) }
    }
    for sample in profile.samples {
      body.message(ProfileField.sample) { encode(sample, into: &$0, &strings) }
    }
    for mapping in profile.mappings {
      body.message(ProfileField.mapping) { encode(mapping, into: &$0, &strings) }
    }
    for location in profile.locations {
      body.message(ProfileField.location) { encode(location, into: &$0) }
    }
    for function in profile.functions {
      body.message(ProfileField.function) { encode(function, into: &$0, &strings) }
    }
    body.int64(ProfileField.dropFrames, strings.index(profile.dropFrames))
    body.int64(ProfileField.keepFrames, strings.index(profile.keepFrames))
    body.int64(ProfileField.timeNanos, profile.timeNanos)
    body.int64(ProfileField.durationNanos, profile.durationNanos)
    if let periodType = profile.periodType {
      body.message(ProfileField.periodType) { encode(periodType, into: &$0, &strings) }
    }
    body.int64(ProfileField.period, profile.period)
    for comment in profile.comments {
      // Repeated scalar written unpacked, one tag per entry, as Go does for comments.
      body.element(ProfileField.comment, UInt64(strings.index(comment)))
    }
    body.int64(ProfileField.defaultSampleType, strings.index(profile.defaultSampleType))
    var output = ProtoWriter()
    for string in strings.entries { output.string(ProfileField.stringTable, string) }
    return output.bytes + body.bytes
  }

  private static func encode(_ type: ValueType, into w: inout ProtoWriter, _ strings: inout StringTable) {
    w.int64(ValueTypeField.type, strings.index(type.type))
    w.int64(ValueTypeField.unit, strings.index(type.unit))
  }

  private static func encode(_ sample: Sample, into w: inout ProtoWriter, _ strings: inout StringTable) {
    w.packed(SampleField.locationID, sample.locationIDs)
    w.packed(SampleField.value, sample.values.map { UInt64(bitPattern: $0) })
    for label in sample.labels {
      w.message(SampleField.label) { l in
        l.int64(LabelField.key, strings.index(label.key))
        switch label.value {
        case .string(let value):
          l.int64(LabelField.str, strings.index(value))
        case .number(let value, let unit):
          l.int64(LabelField.num, value)
          l.int64(LabelField.numUnit, strings.index(unit))
        }
      }
    }
  }

  private static func encode(_ mapping: Mapping, into w: inout ProtoWriter, _ strings: inout StringTable) {
    w.uint64(MappingField.id, mapping.id)
    w.uint64(MappingField.memoryStart, mapping.memoryStart)
    w.uint64(MappingField.memoryLimit, mapping.memoryLimit)
    w.uint64(MappingField.fileOffset, mapping.fileOffset)
    w.int64(MappingField.filename, strings.index(mapping.filename))
    w.int64(MappingField.buildID, strings.index(mapping.buildID))
    w.bool(MappingField.hasFunctions, mapping.hasFunctions)
    w.bool(MappingField.hasFilenames, mapping.hasFilenames)
    w.bool(MappingField.hasLineNumbers, mapping.hasLineNumbers)
    w.bool(MappingField.hasInlineFrames, mapping.hasInlineFrames)
  }

  private static func encode(_ location: Location, into w: inout ProtoWriter) {
    w.uint64(LocationField.id, location.id)
    w.uint64(LocationField.mappingID, location.mappingID)
    w.uint64(LocationField.address, location.address)
    for line in location.lines {
      w.message(LocationField.line) { l in
        l.uint64(LineField.functionID, line.functionID)
        l.int64(LineField.line, line.line)
        l.int64(LineField.column, line.column)
      }
    }
    w.bool(LocationField.isFolded, location.isFolded)
  }

  private static func encode(_ function: Function, into w: inout ProtoWriter, _ strings: inout StringTable) {
    w.uint64(FunctionField.id, function.id)
    w.int64(FunctionField.name, strings.index(function.name))
    w.int64(FunctionField.systemName, strings.index(function.systemName))
    w.int64(FunctionField.filename, strings.index(function.filename))
    w.int64(FunctionField.startLine, function.startLine)
  }
}

private struct StringTable {
  private(set) var entries: [String] = [""]
  private var indices: [String: Int64] = ["": 0]

  mutating func index(_ string: String) -> Int64 {
    if let index = indices[string] { return index }
    let index = Int64(entries.count)
    entries.append(string)
    indices[string] = index
    return index
  }
}
