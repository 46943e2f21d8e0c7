import ArgumentParser

/// A number of seconds given on the command line. Any number is read, so that
/// `validate` can say the rule ("-1", "inf", "1e300" are numbers a user means, not
/// typos): finite, not negative and at most a year, so that it always fits in 64
/// bits of nanoseconds.
struct Seconds: ExpressibleByArgument {
  static let longest = 366.0 * 24 * 3600

  let value: Double

  init(_ value: Double) { self.value = value }

  init?(argument: String) {
    guard let value = Double(argument) else { return nil }
    self.value = value
  }

  /// Refuses what `option` cannot mean, saying its rule; `zeroMeans` says what 0
  /// does for the option (nil: 0 is refused).
  func validate(_ option: String, zeroMeans: String? = nil) throws {
    let year = "a year (\(Int(Self.longest)) s)"
    guard value.isFinite, value <= Self.longest, value > 0 || (value == 0 && zeroMeans != nil) else {
      if let zeroMeans { throw ValidationError("\(option) must be between 0 (\(zeroMeans)) and \(year)") }
      throw ValidationError("\(option) must be more than 0 and at most \(year)")
    }
  }

  /// Rounded up: a positive number of seconds never becomes 0, which means "no limit".
  var nanoseconds: UInt64 { UInt64((value * 1e9).rounded(.up)) }

  var defaultValueDescription: String { value.rounded() == value ? String(Int(value)) : String(value) }
}
