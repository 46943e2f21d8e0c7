import ArgumentParser

/// A duration written as Go writes one (time.ParseDuration): a number and one unit,
/// ns, us (or µs), ms or s, as in 500us, 1ms, 2.5ms; "0" alone is zero. At most an
/// hour, so that it fits in 64 bits of nanoseconds. Anything else is refused by the
/// parser with one line.
struct GoDuration: ExpressibleByArgument, Equatable, CustomStringConvertible {
  private static let units: [(suffix: String, nanoseconds: Double)] = [
    ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9),
  ]

  let nanoseconds: UInt64

  init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

  init?(argument: String) {
    if argument == "0" {
      nanoseconds = 0
      return
    }
    // "ms" and "ns" end in "s": the two-letter units are tried first.
    guard let unit = Self.units.sorted(by: { $0.suffix.count > $1.suffix.count }).first(where: { argument.hasSuffix($0.suffix) }),
          let amount = Double(argument.dropLast(unit.suffix.count)), amount.isFinite, amount >= 0,
          amount * unit.nanoseconds <= 3600e9
    else { return nil }
    nanoseconds = UInt64((amount * unit.nanoseconds).rounded())
  }

  /// As Go prints it: 1ms, 500us, 2.5ms.
  var description: String {
    let (unit, scale) = Self.units.filter { $0.suffix != "µs" }.last { Double(nanoseconds) >= $0.nanoseconds } ?? ("ns", 1)
    let amount = Double(nanoseconds) / scale
    return nanoseconds == 0 ? "0" : (amount.rounded() == amount ? String(Int(amount)) : String(amount)) + unit
  }
}
