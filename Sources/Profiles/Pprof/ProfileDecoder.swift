/// Reads a profile.proto message (uncompressed) into a Profile and checks it with
/// `Profile.validate()`. The string table may appear anywhere in the message, so
/// a first pass collects it and a second pass decodes everything else.
public enum ProfileDecoder {
  /// What becomes of the file's samples.
  public enum Samples: Sendable {
    /// Each sample as written: what a round trip needs.
    case exact
    /// Samples with the same stack and labels summed into one, in order of first
    /// appearance: what reports need, in memory that grows with distinct stacks.
    case aggregated
  }

  /// The most memory one profile may take, when the address space is not limited:
  /// the file's bytes, its decompressed bytes, and the estimated memory of the decoded
  /// profile (strings, mappings, locations, functions, samples) each stay below it.
  public static let defaultMemoryBudget = 1 << 30

  /// What a reader may hold for one profile here: the default, or half the address-space
  /// limit (`ulimit -v`, RLIMIT_AS) when that is smaller, the other half left to prof
  /// itself (its binary, libraries, stacks, the report), so that a profile too large for
  /// the limit is refused in one line instead of aborting in an allocation.
  public static let memoryBudget = memoryBudget(forAddressSpaceLimit: AddressSpace.limit)

  public static func memoryBudget(forAddressSpaceLimit addressSpaceLimit: Int?) -> Int {
    guard let addressSpaceLimit else { return defaultMemoryBudget }
    return min(defaultMemoryBudget, addressSpaceLimit / 2)
  }

  public static func decode(_ bytes: [UInt8], samples: Samples = .exact,
                            memoryBudget: Int = memoryBudget) throws(ProfileFormatError) -> Profile {
    let result: Result<Profile, ProfileFormatError> = bytes.withUnsafeBytes { raw in
      do throws(ProfileFormatError) {
        var budget = MemoryBudget(bytes: memoryBudget)
        let strings = try StringTable(ProtoReader(raw), budget: &budget)
        let profile = try decodeProfile(ProtoReader(raw), strings, samples, &budget)
        try profile.validate()
        return .success(profile)
      } catch {
        return .failure(error)
      }
    }
    return try result.get()
  }

  private static func decodeProfile(_ reader: ProtoReader, _ strings: StringTable, _ mode: Samples,
                                    _ budget: inout MemoryBudget) throws(ProfileFormatError) -> Profile {
    var reader = reader
    var profile = Profile()
    var comments: [UInt64] = []
    var aggregator = SampleAggregator()
    var key = SampleAggregator.Key(), values: [Int64] = [], scratch: [UInt64] = []
    while !reader.isAtEnd {
      let (field, wireType) = try reader.field()
      switch field {
      case ProfileField.sampleType: profile.sampleTypes.append(try valueType(reader.message(), strings))
      case ProfileField.sample:
        try sample(reader.message(), into: &key, values: &values)
        switch mode {
        case .exact:
          try budget.charge(MemoryBudget.sample(key))
          profile.samples.append(Sample(locationIDs: key.locationIDs, values: values,
                                        labels: try labels(key.labelWords[...], strings)))
        case .aggregated:
          // A new row is charged for its key and for the Sample it becomes.
          if aggregator.add(key, values: values, scratch: &scratch) { try budget.charge(MemoryBudget.sample(key) * 2) }
        }
      case ProfileField.mapping: try budget.charge(MemoryBudget.mapping); profile.mappings.append(try mapping(reader.message(), strings))
      case ProfileField.location:
        let location = try location(reader.message())
        try budget.charge(MemoryBudget.location(location))
        profile.locations.append(location)
      case ProfileField.function: try budget.charge(MemoryBudget.function); profile.functions.append(try function(reader.message(), strings))
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
    if mode == .aggregated { profile.samples = try aggregator.samples { words throws(ProfileFormatError) in try labels(words, strings) } }
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

  /// One sample's fields into reused buffers; labels stay numbers until `labels` resolves them.
  private static func sample(_ reader: ProtoReader, into key: inout SampleAggregator.Key,
                             values: inout [Int64]) throws(ProfileFormatError) {
    var reader = reader
    key.reset()
    values.removeAll(keepingCapacity: true)
    while !reader.isAtEnd {
      let (field, wireType) = try reader.field()
      switch field {
      case SampleField.locationID: try reader.repeated(wireType, into: &key.locationIDs)
      case SampleField.value: try reader.repeated(wireType, into: &values)
      case SampleField.label: try label(reader.message(), into: &key.labelWords)
      default: try reader.skip(wireType)
      }
    }
    key.valueCount = values.count
  }

  /// A label as four numbers: key, str, num and num_unit (string indices but num).
  private static func label(_ reader: ProtoReader, into words: inout [UInt64]) throws(ProfileFormatError) {
    var reader = reader
    var key: UInt64 = 0, string: UInt64 = 0, number: UInt64 = 0, unit: UInt64 = 0
    while !reader.isAtEnd {
      let (field, wireType) = try reader.field()
      switch field {
      case LabelField.key: key = try reader.varint()
      case LabelField.str: string = try reader.varint()
      case LabelField.num: number = try reader.varint()
      case LabelField.numUnit: unit = try reader.varint()
      default: try reader.skip(wireType)
      }
    }
    words.append(key)
    words.append(string)
    words.append(number)
    words.append(unit)
  }

  /// Labels from groups of four numbers; a label with a string (index > 0) is a string label.
  private static func labels(_ words: ArraySlice<UInt64>, _ strings: StringTable) throws(ProfileFormatError) -> [Label] {
    var labels: [Label] = []
    var word = words.startIndex
    while word + 4 <= words.endIndex {
      let key = try strings[words[word]], string = try strings[words[word + 1]], unit = try strings[words[word + 3]]
      labels.append(string.isEmpty ? Label(key: key, value: .number(Int64(bitPattern: words[word + 2]), unit: unit))
                                   : Label(key: key, value: .string(string)))
      word += 4
    }
    return labels
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

  init(_ reader: ProtoReader, budget: inout MemoryBudget) throws(ProfileFormatError) {
    var reader = reader
    while !reader.isAtEnd {
      let (field, wireType) = try reader.field()
      if field == ProfileField.stringTable && wireType == .lengthDelimited {
        let string = try reader.string()
        try budget.charge(MemoryBudget.string(string))
        entries.append(string)
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
