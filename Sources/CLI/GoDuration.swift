import ArgumentParser

/// A duration written as Go writes one (time.ParseDuration): a number and one unit,
/// ns, us (or µs), ms or s, as in 500us, 1ms, 2.5ms; "0" alone is zero. Any such
/// number is read, so that `validate` can say the rule (-1ms is a number a user
/// means): not negative and at most an hour, so that it fits in 64 bits of
/// nanoseconds. Anything else is refused by the parser with one line.
struct GoDuration: ExpressibleByArgument, Equatable, CustomStringConvertible {
  private static let units: [(suffix: String, nanoseconds: Double)] = [
    ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9),
  ]
  static let longest = 3600e9

  /// As written, in nanoseconds: may be out of range until `validate` has passed.
  private let amount: Double

  init(nanoseconds: UInt64) { amount = Double(nanoseconds) }

  init?(argument: String) {
    if argument == "0" {
      amount = 0
      return
    }
    // "ms" and "ns" end in "s": the two-letter units are tried first.
    guard let unit = Self.units.sorted(by: { $0.suffix.count > $1.suffix.count }).first(where: { argument.hasSuffix($0.suffix) }),
          let number = Double(argument.dropLast(unit.suffix.count))
    else { return nil }
    amount = number * unit.nanoseconds
  }

  func validate(_ option: String) throws {
    guard amount >= 0, amount <= Self.longest else {
      throw ValidationError("\(option) must be between 0 and 1h (a duration as 500us, 1ms or 2s)")
    }
  }

  /// To the nearest nanosecond, but a positive duration is at least 1 ns: 0 means none.
  var nanoseconds: UInt64 { amount > 0 ? max(1, UInt64(amount.rounded())) : 0 }

  static func == (left: Self, right: Self) -> Bool { left.nanoseconds == right.nanoseconds }

  /// As Go prints it: 1ms, 500us, 2.5ms.
  var description: String {
    let (unit, scale) = Self.units.filter { $0.suffix != "µs" }.last { Double(nanoseconds) >= $0.nanoseconds } ?? ("ns", 1)
    let amount = Double(nanoseconds) / scale
    return nanoseconds == 0 ? "0" : (amount.rounded() == amount ? String(Int(amount)) : String(amount)) + unit
  }
}
