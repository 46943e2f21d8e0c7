import ArgumentParser

/// A duration written as Go writes one, read by time.ParseDuration's grammar: an
/// optional sign, then one or more decimal numbers (a fraction allowed) each with a
/// unit among ns, us, µs, μs, ms, s, m and h, as in 500us, 2.5ms, 1m30s; "0" alone
/// is zero. What Go refuses (1e3ms, 1, 2 ms, a number past 2^63 ns) is refused
/// here. Any Go duration is read, so that `validate` can say the rule (-1ms is one a
/// user means): not negative and at most an hour, so that it fits in 64 bits of
/// nanoseconds. The CLI's check is in `validate`, which names the option.
struct GoDuration: ExpressibleByArgument, Equatable, CustomStringConvertible {
  /// Go's unitMap: both micro signs (U+00B5 and U+03BC) are µs.
  private static let units: [String: UInt64] = [
    "ns": 1, "us": 1_000, "\u{00B5}s": 1_000, "\u{03BC}s": 1_000, "ms": 1_000_000,
    "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
  ]
  static let longest = 3600e9
  static let syntax = "a Go duration such as 500us, 1.5ms, 2s or 1m30s (units ns, us, µs, ms, s, m, h)"

  /// As written, in nanoseconds (may be out of range until `validate` has passed);
  /// nil: not a Go duration.
  private let amount: Double?

  init(nanoseconds: UInt64) { amount = Double(nanoseconds) }

  /// Never nil: text that is not a duration is kept, for `validate` to say so with the option's name.
  init?(argument: String) { amount = Self.nanoseconds(parsing: argument) }

  /// `text` in nanoseconds, signed, as time.ParseDuration reads it; nil where it
  /// fails. Fractions are kept (Go truncates them), so that `nanoseconds` can round.
  static func nanoseconds(parsing text: String) -> Double? {
    var rest = Substring(text)
    var negative = false
    if let sign = rest.first, sign == "-" || sign == "+" {
      negative = sign == "-"
      rest = rest.dropFirst()
    }
    if rest == "0" { return 0 }
    guard !rest.isEmpty else { return nil }
    let limit = UInt64(1) << 63
    var whole: UInt64 = 0  // what Go sums, to refuse what it refuses past 2^63 ns
    var amount = 0.0
    while !rest.isEmpty {
      let integer = rest.prefix { $0.isASCII && $0.isNumber }
      rest = rest.dropFirst(integer.count)
      var fraction: Substring = ""
      if rest.first == "." {
        rest = rest.dropFirst()
        fraction = rest.prefix { $0.isASCII && $0.isNumber }
        rest = rest.dropFirst(fraction.count)
      }
      guard !integer.isEmpty || !fraction.isEmpty else { return nil }  // ".s", "-.s", "x"
      let unitText = rest.prefix { !($0 == "." || ($0.isASCII && $0.isNumber)) }
      rest = rest.dropFirst(unitText.count)
      guard let unit = units[String(unitText)] else { return nil }  // missing or unknown unit
      guard let value = integer.isEmpty ? 0 : UInt64(integer), value <= limit / unit else { return nil }
      let (numerator, scale) = Self.fraction(fraction)
      let part = numerator * (Double(unit) / scale)  // Go's order of operations, for Go's rounding
      let (sum, overflow) = whole.addingReportingOverflow(value * unit + UInt64(part))
      guard !overflow, sum <= limit else { return nil }
      whole = sum
      amount += Double(value * unit) + part
    }
    guard negative || whole < limit else { return nil }
    return negative ? -amount : amount
  }

  /// Digits after a point as numerator / scale, read as Go's leadingFraction reads
  /// them: those past 2^63 are dropped.
  private static func fraction(_ digits: Substring) -> (numerator: Double, scale: Double) {
    var numerator: UInt64 = 0
    var scale = 1.0
    for digit in digits.compactMap(\.wholeNumberValue) {
      guard numerator <= (UInt64.max >> 1) / 10 else { break }
      let next = numerator * 10 + UInt64(digit)
      guard next <= 1 << 63 else { break }
      numerator = next
      scale *= 10
    }
    return (Double(numerator), scale)
  }

  func validate(_ option: String) throws {
    guard let amount else { throw ValidationError("\(option) must be \(Self.syntax)") }
    guard amount >= 0, amount <= Self.longest else {
      throw ValidationError("\(option) must be a Go duration between 0 and 1h, such as 500us, 1.5ms, 2s or 1m30s")
    }
  }

  /// To the nearest nanosecond, but a positive duration is at least 1 ns: 0 means none.
  var nanoseconds: UInt64 {
    guard let amount, amount > 0 else { return 0 }
    return max(1, UInt64(amount.rounded()))
  }

  static func == (left: Self, right: Self) -> Bool { left.nanoseconds == right.nanoseconds }

  /// As Go prints it: 500us, 2.5ms, 10s, 1m30s, 1h0m0s.
  var description: String {
    let nanoseconds = nanoseconds
    guard nanoseconds > 0 else { return "0" }
    func decimal(_ count: UInt64, _ scale: UInt64) -> String {
      let amount = Double(count) / Double(scale)
      return amount.rounded() == amount ? String(count / scale) : String(amount)
    }
    let minute: UInt64 = 60_000_000_000
    guard nanoseconds >= minute else {
      let (unit, scale) = [("s", UInt64(1_000_000_000)), ("ms", 1_000_000), ("us", 1_000)].first { nanoseconds >= $0.1 } ?? ("ns", 1)
      return decimal(nanoseconds, scale) + unit
    }
    let hours = nanoseconds / (60 * minute)
    let minutes = nanoseconds % (60 * minute) / minute
    return (hours > 0 ? "\(hours)h" : "") + "\(minutes)m" + decimal(nanoseconds % minute, 1_000_000_000) + "s"
  }
}
