/// Sums of sample values that stop at Int64's bounds instead of trapping: a file
/// may hold any int64 values (go tool pprof reads them), and a reader must not
/// crash on them. Saturated totals are still the largest representable value.
extension Int64 {
  @inline(__always)
  public func addingSaturating(_ other: Int64) -> Int64 {
    let (sum, overflow) = addingReportingOverflow(other)
    return overflow ? (other > 0 ? .max : .min) : sum
  }

  @inline(__always)
  public func subtractingSaturating(_ other: Int64) -> Int64 {
    let (difference, overflow) = subtractingReportingOverflow(other)
    return overflow ? (other < 0 ? .max : .min) : difference
  }

  @inline(__always)
  public mutating func addSaturating(_ other: Int64) { self = addingSaturating(other) }

  /// |self|, with |Int64.min| clamped to Int64.max.
  public var saturatingMagnitude: Int64 { Int64(clamping: magnitude) }

  /// The nearest Int64 to a Double, NaN as 0: Int64(_:) traps outside the range.
  public init(saturating value: Double) {
    if value.isNaN { self = 0 } else if value >= 0x1p63 { self = .max } else if value <= -0x1p63 { self = .min } else { self = Int64(value) }
  }
}
