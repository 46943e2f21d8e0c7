import BenchFormat

/// What one run of a body with a given N measured.
struct Round {
  var n: Int
  var nanoseconds: UInt64
  var allocations: UInt64 = 0
  var allocatedBytes: UInt64 = 0
  /// Bytes processed per iteration (setBytes), for MB/s.
  var bytesPerOperation: Int = 0
  var extraMetrics: [String: Double] = [:]

  /// The result line Go would print, in Go's order: ns/op, MB/s, extra
  /// metrics sorted by unit, B/op, allocs/op. Extra metrics with a built-in
  /// unit replace the measured value; zero ns/op and MB/s are omitted as in Go.
  func result(name: String) -> BenchmarkResult {
    let builtIn: Set = ["ns/op", "MB/s", "B/op", "allocs/op"]
    let ns = extraMetrics["ns/op"] ?? Double(nanoseconds) / Double(n)
    var measurements: [Measurement] = []
    if ns != 0 { measurements.append(Measurement(ns, "ns/op")) }
    let mbPerSecond = extraMetrics["MB/s"] ?? megabytesPerSecond()
    if mbPerSecond != 0 { measurements.append(Measurement(mbPerSecond, "MB/s")) }
    for unit in extraMetrics.keys.sorted() where !builtIn.contains(unit) {
      measurements.append(Measurement(extraMetrics[unit]!, unit))
    }
    let bytesPerOp = extraMetrics["B/op"] ?? Double(allocatedBytes / UInt64(n))
    let allocsPerOp = extraMetrics["allocs/op"] ?? Double(allocations / UInt64(n))
    measurements.append(Measurement(bytesPerOp.rounded(.down), "B/op"))
    measurements.append(Measurement(allocsPerOp.rounded(.down), "allocs/op"))
    return BenchmarkResult(name: name, iterations: n, measurements: measurements)
  }

  private func megabytesPerSecond() -> Double {
    guard bytesPerOperation > 0, nanoseconds > 0 else { return 0 }
    return Double(bytesPerOperation) * Double(n) / 1e6 / (Double(nanoseconds) / 1e9)
  }
}
