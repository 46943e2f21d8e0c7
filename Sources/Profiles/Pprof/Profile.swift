/// The pprof data model (google/pprof proto/profile.proto) as Swift values.
/// Strings are stored inline; the string table exists only inside the encoder and
/// decoder. Ids are the file's ids: non-zero and unique per kind.
public struct Profile: Sendable, Equatable {
  public var sampleTypes: [ValueType] = []
  public var samples: [Sample] = []
  public var mappings: [Mapping] = []
  public var locations: [Location] = []
  public var functions: [Function] = []
  public var dropFrames = ""
  public var keepFrames = ""
  public var timeNanos: Int64 = 0
  public var durationNanos: Int64 = 0
  public var periodType: ValueType?
  public var period: Int64 = 0
  public var comments: [String] = []
  public var defaultSampleType = ""

  public init() {}
}

public struct ValueType: Sendable, Equatable, Hashable {
  public var type: String
  public var unit: String

  public init(type: String, unit: String) {
    self.type = type
    self.unit = unit
  }
}

public struct Sample: Sendable, Equatable {
  /// Leaf first, as in the file.
  public var locationIDs: [UInt64]
  public var values: [Int64]
  public var labels: [Label]

  public init(locationIDs: [UInt64], values: [Int64], labels: [Label] = []) {
    self.locationIDs = locationIDs
    self.values = values
    self.labels = labels
  }
}

public struct Label: Sendable, Equatable, Hashable {
  public enum Value: Sendable, Equatable, Hashable {
    case string(String)
    case number(Int64, unit: String)
  }

  public var key: String
  public var value: Value

  public init(key: String, value: Value) {
    self.key = key
    self.value = value
  }
}

public struct Mapping: Sendable, Hashable {
  public var id: UInt64
  public var memoryStart: UInt64 = 0
  public var memoryLimit: UInt64 = 0
  public var fileOffset: UInt64 = 0
  public var filename = ""
  public var buildID = ""
  public var hasFunctions = false
  public var hasFilenames = false
  public var hasLineNumbers = false
  public var hasInlineFrames = false

  public init(id: UInt64) { self.id = id }
}

public struct Location: Sendable, Hashable {
  public var id: UInt64
  public var mappingID: UInt64 = 0
  public var address: UInt64 = 0
  /// Innermost inlined callee first; the last line is the physical function.
  public var lines: [Line] = []
  public var isFolded = false

  public init(id: UInt64) { self.id = id }
}

public struct Line: Sendable, Hashable {
  public var functionID: UInt64
  public var line: Int64
  public var column: Int64

  public init(functionID: UInt64, line: Int64, column: Int64 = 0) {
    self.functionID = functionID
    self.line = line
    self.column = column
  }
}

public struct Function: Sendable, Hashable {
  public var id: UInt64
  public var name = ""
  /// The symbol as the linker knows it (mangled).
  public var systemName = ""
  public var filename = ""
  public var startLine: Int64 = 0

  public init(id: UInt64) { self.id = id }
}
