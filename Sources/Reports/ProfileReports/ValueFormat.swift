import Foundation

/// Values printed as pprof prints them: bytes as B/kB/MB/..., durations as
/// ns/us/ms/s/hrs, counts bare; two decimals with ".00" dropped.
public struct ValueFormat: Sendable, Equatable {
  private let family: UnitFamily?
  /// The factor from the sample unit to the family's base unit (ns, B).
  private let sourceFactor: Double
  /// nil: the best unit for each value.
  private var unit: ScaledUnit?

  /// A format for values in `sampleUnit`, printed in a unit chosen as pprof's
  /// -top does: the smallest non-zero value decides, unless the largest is over
  /// 100 times bigger and a coarser unit shows the smallest as at least 0.01.
  public init(sampleUnit: String, smallest: Int64, largest: Int64) {
    self.init(autoScaling: sampleUnit)
    guard let family else { return }
    let smallest = smallest == 0 ? largest : smallest
    let minimumUnit = family.bestUnit(Double(smallest) * sourceFactor)
    if minimumUnit != family.bestUnit(Double(largest) * sourceFactor), smallest <= Int64.max / 100, smallest * 100 < largest {
      unit = family.bestUnit(Double(smallest) * 100 * sourceFactor)
    } else {
      unit = minimumUnit
    }
  }

  /// A format that picks the best unit for each value, as pprof's Label does.
  public init(autoScaling sampleUnit: String) {
    family = UnitFamily.of(sampleUnit)
    sourceFactor = family?.unit(named: sampleUnit)?.factor ?? 1
    unit = nil
  }

  /// False for counts and unknown units, printed as bare numbers.
  public var hasUnit: Bool { family != nil }

  public func format(_ value: Int64) -> String {
    let (scaled, suffix) = scale(value)
    var text = String(format: "%.2f", scaled)
    if text.hasSuffix(".00") { text.removeLast(3) }
    if text == "0" || text == "-0" { return "0" }
    return text + suffix
  }

  /// The value in the display unit, and the unit's name ("" for counts).
  public func scale(_ value: Int64) -> (Double, String) {
    guard let family else { return (Double(value), "") }
    let base = Double(value) * sourceFactor
    let target = unit ?? family.bestUnit(abs(base))
    return (base / target.factor, target.name)
  }
}

/// pprof's percentage: "  100%" near 100, two decimals above 1%, two significant digits below.
public func percentage(_ value: Int64, of total: Int64) -> String {
  let ratio = total == 0 ? 0 : abs(Double(value) / Double(total)) * 100
  if ratio >= 99.95 && ratio <= 100.05 { return "  100%" }
  if ratio >= 1 { return String(format: "%5.2f%%", ratio) }
  return String(format: "%5.2g%%", ratio)
}

struct ScaledUnit: Sendable, Equatable {
  let name: String
  let aliases: [String]
  let factor: Double
}

/// Units pprof converts between, with the spellings it accepts.
struct UnitFamily: Sendable, Equatable {
  let units: [ScaledUnit]
  let fallback: ScaledUnit

  static let bytes = UnitFamily(units: [
    ScaledUnit(name: "B", aliases: ["b", "byte"], factor: 1),
    ScaledUnit(name: "kB", aliases: ["kb", "kbyte", "kilobyte"], factor: 0x1p10),
    ScaledUnit(name: "MB", aliases: ["mb", "mbyte", "megabyte"], factor: 0x1p20),
    ScaledUnit(name: "GB", aliases: ["gb", "gbyte", "gigabyte"], factor: 0x1p30),
    ScaledUnit(name: "TB", aliases: ["tb", "tbyte", "terabyte"], factor: 0x1p40),
    ScaledUnit(name: "PB", aliases: ["pb", "pbyte", "petabyte"], factor: 0x1p50),
  ], fallback: ScaledUnit(name: "B", aliases: [], factor: 1))

  static let time = UnitFamily(units: [
    ScaledUnit(name: "ns", aliases: ["ns", "nanosecond"], factor: 1),
    ScaledUnit(name: "us", aliases: ["μs", "us", "microsecond"], factor: 1e3),
    ScaledUnit(name: "ms", aliases: ["ms", "millisecond"], factor: 1e6),
    ScaledUnit(name: "s", aliases: ["s", "sec", "second"], factor: 1e9),
    ScaledUnit(name: "hrs", aliases: ["hour", "hr"], factor: 3600e9),
  ], fallback: ScaledUnit(name: "s", aliases: [], factor: 1e9))

  static func of(_ unit: String) -> UnitFamily? {
    [bytes, time].first { $0.unit(named: unit) != nil }
  }

  /// "nanoseconds" -> ns, "bytes" -> B: lower-cased, a plural s dropped.
  func unit(named name: String) -> ScaledUnit? {
    var name = name.lowercased()
    if name.count > 2 && name.hasSuffix("s") { name.removeLast() }
    return units.first { $0.aliases.contains(name) }
  }

  /// The largest unit in which the value (in base units) is at least 1.
  func bestUnit(_ base: Double) -> ScaledUnit {
    units.last { base / $0.factor >= 1 } ?? fallback
  }
}
