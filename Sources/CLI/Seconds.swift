import ArgumentParser

/// A number of seconds given on the command line: finite, not negative and at
/// most a year, so that it always fits in 64 bits of nanoseconds. Anything else
/// ("inf", "1e300", "-1") is refused by the parser with one line.
struct Seconds: ExpressibleByArgument {
  static let longest = 366.0 * 24 * 3600

  let value: Double

  init(_ value: Double) { self.value = value }

  init?(argument: String) {
    guard let value = Double(argument), value.isFinite, value >= 0, value <= Self.longest else { return nil }
    self.value = value
  }

  /// Rounded up: a positive number of seconds never becomes 0, which means "no limit".
  var nanoseconds: UInt64 { UInt64((value * 1e9).rounded(.up)) }

  var defaultValueDescription: String { value.rounded() == value ? String(Int(value)) : String(value) }
}
