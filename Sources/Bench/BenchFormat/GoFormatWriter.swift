import Foundation

/// Writes results exactly as Go's testing package prints them
/// (`go test -bench . -benchmem`), so benchstat and other Go tools read them.
public enum GoFormatWriter {
  public static func configLine(_ entry: ConfigEntry) -> String {
    "\(entry.key): \(entry.value)"
  }

  /// A result line. `nameWidth` pads the name as Go pads it to the longest
  /// name of the run. Units are printed in the order given.
  public static func resultLine(_ result: BenchmarkResult, nameWidth: Int = 0) -> String {
    let name = "Benchmark" + result.name
    var line = name.padding(toLength: max(nameWidth, name.count), withPad: " ", startingAt: 0)
    line += "\t" + String(format: "%8ld", result.iterations)
    for measurement in result.measurements {
      line += "\t" + formatMeasurement(measurement)
    }
    return line
  }

  /// Go prints MB/s with two decimals and memory statistics as integers;
  /// every other unit with `prettyPrint`.
  static func formatMeasurement(_ m: Measurement) -> String {
    switch m.unit {
    case "MB/s": String(format: "%7.2f MB/s", m.value)
    case "B/op", "allocs/op": String(format: "%8ld", Int(m.value)) + " " + m.unit
    default: prettyPrint(m.value, unit: m.unit)
    }
  }

  /// Go's testing.prettyPrint: ten places before the decimal point, four
  /// significant figures for small numbers, decimal points aligned.
  public static func prettyPrint(_ x: Double, unit: String) -> String {
    let y = abs(x)
    let format: String
    switch y {
    case _ where y == 0 || y >= 999.95: format = "%10.0f"
    case _ where y >= 99.995: format = "%12.1f"
    case _ where y >= 9.9995: format = "%13.2f"
    case _ where y >= 0.99995: format = "%14.3f"
    case _ where y >= 0.099995: format = "%15.4f"
    case _ where y >= 0.0099995: format = "%16.5f"
    case _ where y >= 0.00099995: format = "%17.6f"
    default: format = "%18.7f"
    }
    return String(format: format, x) + " " + unit
  }
}
