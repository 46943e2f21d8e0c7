/// One value and its unit from a result line, e.g. `9712 ns/op`.
public struct Measurement: Equatable, Codable, Sendable {
  public var value: Double
  public var unit: String

  public init(_ value: Double, _ unit: String) {
    self.value = value
    self.unit = unit
  }
}

/// One result line: one sample of one benchmark.
public struct BenchmarkResult: Equatable, Codable, Sendable {
  /// The name after the `Benchmark` prefix, including the `-<procs>` suffix,
  /// e.g. `Decode/size=1k-2`.
  public var name: String
  public var iterations: Int
  public var measurements: [Measurement]

  public init(name: String, iterations: Int, measurements: [Measurement]) {
    self.name = name
    self.iterations = iterations
    self.measurements = measurements
  }

  public func value(of unit: String) -> Double? {
    measurements.first { $0.unit == unit }?.value
  }
}

/// Which direction of change is an improvement for a unit.
public enum Better: String, Codable, Sendable {
  case lower, higher
}

/// What a `Unit` metadata line declares about a unit.
public struct UnitMetadata: Equatable, Codable, Sendable {
  public var better: Better?
  /// `assume=exact`: every sample is expected to be identical (a count).
  public var exact: Bool

  public init(better: Better? = nil, exact: Bool = false) {
    self.better = better
    self.exact = exact
  }
}

/// A parsed benchmark file: configuration, unit metadata and results in order.
public struct BenchmarkFile: Equatable, Codable, Sendable {
  /// Configuration lines in file order (a later value for a key replaces it).
  public var config: [ConfigEntry]
  public var units: [String: UnitMetadata]
  public var results: [BenchmarkResult]

  public init(
    config: [ConfigEntry] = [], units: [String: UnitMetadata] = [:],
    results: [BenchmarkResult] = []
  ) {
    self.config = config
    self.units = units
    self.results = results
  }
}

/// A `key: value` configuration line such as `goos: linux`.
public struct ConfigEntry: Equatable, Codable, Sendable {
  public var key: String
  public var value: String

  public init(_ key: String, _ value: String) {
    self.key = key
    self.value = value
  }
}
