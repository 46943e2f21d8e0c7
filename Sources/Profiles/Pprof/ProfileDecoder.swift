/// Reads a profile.proto message (uncompressed) into a Profile and checks it with
/// `Profile.validate()`. The string table may appear anywhere in the message, so
/// a first pass collects it and a second pass decodes everything else.
public enum ProfileDecoder {
  public static func decode(_ bytes: [UInt8]) throws(ProfileFormatError) -> Profile {
    let result: Result<Profile, ProfileFormatError> = bytes.withUnsafeBytes { raw in
      do throws(ProfileFormatError) {
        let strings = try StringTable(ProtoReader(raw))
        let profile = try decodeProfile(ProtoReader(raw), strings)
        try profile.validate()
        return .success(profile)
      } catch {
        return .failure(error)
      }
    }
    return try result.get()
  }

  private static func decodeProfile(_ reader: ProtoReader, _ strings: StringTable) throws(ProfileFormatError) -> Profile {
    var reader = reader
    var profile = Profile()
    var comments: [UInt64] = []
    while !reader.isAtEnd {
      let (field, wireType) = try reader.field()
      switch field {
      case ProfileField.sampleType: profile.sampleTypes.append(try valueType(reader.message(), strings))
      case ProfileField.sample: profile.samples.append(try sample(reader.message(), strings))
      case ProfileField.mapping: profile.mappings.append(try mapping(reader.message(), strings))
      case ProfileField.location: profile.locations.append(try location(reader.message()))
      case ProfileField.function: profile.functions.append(try function(reader.message(), strings))
      case ProfileField.dropFrames: profile.dropFrames = try strings[reader.varint()]
      case ProfileField.keepFrames: profile.keepFrames = try strings[reader.varint()]
      case ProfileField.timeNanos: profile.timeNanos = Int64(bitPattern: try reader.varint())
      case ProfileField.durationNanos: profile.durationNanos = Int64(bitPattern: try reader.varint())
      case ProfileField.periodType: profile.periodType = try valueType(reader.message(), strings)
      case ProfileField.period: profile.period = Int64(bitPattern: try reader.varint())
      case ProfileField.comment: try reader.repeated(wireType, into: &comments)
      case ProfileField.defaultSampleType: profile.defaultSampleType = try strings[reader.varint()]
      default: try reader.skip(wireType)
      }
    }
    for comment in comments { profile.comments.append(try strings[comment]) }
    return profile
  }

  private static func valueType(_ reader: ProtoReader, _ strings: StringTable) throws(ProfileFormatError) -> ValueType {
    var reader = reader
    var type = ValueType(type: "", unit: "")
    while !reader.isAtEnd {
      let (field, wireType) = try reader.field()
      switch field {
      case ValueTypeField.type: type.type = try strings[reader.varint()]
      case ValueTypeField.unit: type.unit = try strings[reader.varint()]
      default: try reader.skip(wireType)
      }
    }
    return type
  }

  private static func sample(_ reader: ProtoReader, _ strings: StringTable) throws(ProfileFormatError) -> Sample {
    var reader = reader
    var locationIDs: [UInt64] = []
    var values: [Int64] = []
    var labels: [Label] = []
    while !reader.isAtEnd {
      let (field, wireType) = try reader.field()
      switch field {
      case SampleField.locationID: try reader.repeated(wireType, into: &locationIDs)
      case SampleField.value: try reader.repeated(wireType, into: &values)
      case SampleField.label: labels.append(try label(reader.message(), strings))
      default: try reader.skip(wireType)
      }
    }
    return Sample(locationIDs: locationIDs, values: values, labels: labels)
  }

  private static func label(_ reader: ProtoReader, _ strings: StringTable) throws(ProfileFormatError) -> Label {
    var reader = reader
    var key = "", string: String?, number: Int64 = 0, unit = ""
    while !reader.isAtEnd {
      let (field, wireType) = try reader.field()
      switch field {
      case LabelField.key: key = try strings[reader.varint()]
      case LabelField.str: string = try strings[reader.varint()]
      case LabelField.num: number = Int64(bitPattern: try reader.varint())
      case LabelField.numUnit: unit = try strings[reader.varint()]
      default: try reader.skip(wireType)
      }
    }
    if let string, !string.isEmpty { return Label(key: key, value: .string(string)) }
    return Label(key: key, value: .number(number, unit: unit))
  }

  private static func mapping(_ reader: ProtoReader, _ strings: StringTable) throws(ProfileFormatError) -> Mapping {
    var reader = reader
    var mapping = Mapping(id: 0)
    while !reader.isAtEnd {
      let (field, wireType) = try reader.field()
      switch field {
      case MappingField.id: mapping.id = try reader.varint()
      case MappingField.memoryStart: mapping.memoryStart = try reader.varint()
      case MappingField.memoryLimit: mapping.memoryLimit = try reader.varint()
      case MappingField.fileOffset: mapping.fileOffset = try reader.varint()
      case MappingField.filename: mapping.filename = try strings[reader.varint()]
      case MappingField.buildID: mapping.buildID = try strings[reader.varint()]
      case MappingField.hasFunctions: mapping.hasFunctions = try reader.varint() != 0
      case MappingField.hasFilenames: mapping.hasFilenames = try reader.varint() != 0
      case MappingField.hasLineNumbers: mapping.hasLineNumbers = try reader.varint() != 0
      case MappingField.hasInlineFrames: mapping.hasInlineFrames = try reader.varint() != 0
      default: try reader.skip(wireType)
      }
    }
    return mapping
  }

  private static func location(_ reader: ProtoReader) throws(ProfileFormatError) -> Location {
    var reader = reader
    var location = Location(id: 0)
    while !reader.isAtEnd {
      let (field, wireType) = try reader.field()
      switch field {
      case LocationField.id: location.id = try reader.varint()
      case LocationField.mappingID: location.mappingID = try reader.varint()
      case LocationField.address: location.address = try reader.varint()
      case LocationField.line: location.lines.append(try line(reader.message()))
      case LocationField.isFolded: location.isFolded = try reader.varint() != 0
      default: try reader.skip(wireType)
      }
    }
    return location
  }

  private static func line(_ reader: ProtoReader) throws(ProfileFormatError) -> Line {
    var reader = reader
    var line = Line(functionID: 0, line: 0)
    while !reader.isAtEnd {
      let (field, wireType) = try reader.field()
      switch field {
      case LineField.functionID: line.functionID = try reader.varint()
      case LineField.line: line.line = Int64(bitPattern: try reader.varint())
      case LineField.column: line.column = Int64(bitPattern: try reader.varint())
      default: try reader.skip(wireType)
      }
    }
    return line
  }

  private static func function(_ reader: ProtoReader, _ strings: StringTable) throws(ProfileFormatError) -> Function {
    var reader = reader
    var function = Function(id: 0)
    while !reader.isAtEnd {
      let (field, wireType) = try reader.field()
      switch field {
      case FunctionField.id: function.id = try reader.varint()
      case FunctionField.name: function.name = try strings[reader.varint()]
      case FunctionField.systemName: function.systemName = try strings[reader.varint()]
      case FunctionField.filename: function.filename = try strings[reader.varint()]
      case FunctionField.startLine: function.startLine = Int64(bitPattern: try reader.varint())
      default: try reader.skip(wireType)
      }
    }
    return function
  }
}

private struct StringTable {
  private var entries: [String] = []

  init(_ reader: ProtoReader) throws(ProfileFormatError) {
    var reader = reader
    while !reader.isAtEnd {
      let (field, wireType) = try reader.field()
      if field == ProfileField.stringTable && wireType == .lengthDelimited {
        entries.append(try reader.string())
      } else {
        try reader.skip(wireType)
      }
    }
    guard entries.first == "" else {
      throw entries.isEmpty ? .notAProfile("no string table") : .invalid("string_table[0] is not empty")
    }
  }

  subscript(index: UInt64) -> String {
    get throws(ProfileFormatError) {
      guard index < UInt64(entries.count) else {
        throw .invalid("string index \(index) out of range (table has \(entries.count))")
      }
      return entries[Int(index)]
    }
  }
}
