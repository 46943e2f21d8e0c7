/// One stack of `go tool pprof -traces`: its value (milliseconds for time, bytes for
/// space, a count otherwise) and its frames, leaf first.
public struct PprofTrace {
  public var value: Double
  public var frames: [String]

  public init(value: Double, frames: [String]) {
    self.value = value
    self.frames = frames
  }

  /// The stacks of `go tool pprof -traces [options] file`.
  public static func of(_ file: String, _ options: [String] = []) throws -> [PprofTrace] {
    parse(try ProfHarness.pprof(["-traces"] + options + [file]).stdout)
  }

  public static func parse(_ text: String) -> [PprofTrace] {
    text.components(separatedBy: "-----------+").compactMap { block in
      var trace = PprofTrace(value: 0, frames: [])
      for untrimmed in block.split(separator: "\n") where !untrimmed.contains(":  ") {  // labels, the header
        let line = untrimmed.trimmingCharacters(in: .whitespaces)
        let fields = line.split(separator: " ", maxSplits: 1)
        if trace.frames.isEmpty, fields.count == 2, let value = quantity(fields[0]) {
          trace.value = value
          trace.frames.append(fields[1].trimmingCharacters(in: .whitespaces))
        } else if !trace.frames.isEmpty, !line.isEmpty {
          trace.frames.append(line)
        }
      }
      return trace.frames.isEmpty ? nil : trace
    }
  }

  /// "836.85ms", "1.02s" (as ms), "17.35GB", "1016B" (as bytes), "42".
  static func quantity(_ text: Substring) -> Double? {
    let units: [(String, Double)] = [("ms", 1), ("us", 1e-3), ("ns", 1e-6), ("s", 1000), ("kB", 1e3), ("MB", 1e6),
                                     ("GB", 1e9), ("TB", 1e12), ("B", 1)]
    for (unit, scale) in units where text.hasSuffix(unit) {
      return Double(text.dropLast(unit.count)).map { $0 * scale }
    }
    return Double(text)
  }

  /// This stack from its first frame containing `function` on; nil without one.
  public func starting(at function: String) -> PprofTrace? {
    frames.firstIndex { $0.contains(function) }.map { PprofTrace(value: value, frames: Array(frames[$0...])) }
  }

  /// The share of `function`'s value (anywhere in the stacks) whose next frames are `callers`.
  public static func shareWithCallers(_ traces: [PprofTrace], of function: String, callers: [String]) -> (share: Double, value: Double) {
    let (share, value) = shareWithCallers(traces.compactMap { $0.starting(at: function) }, leaf: function, callers: callers)
    return (share, value)
  }

  /// The share of `leaf`'s value whose next frames are `callers`, in order, each
  /// frame containing its text; and the leaf's whole value.
  public static func shareWithCallers(_ traces: [PprofTrace], leaf: String, callers: [String]) -> (share: Double, leafValue: Double) {
    let leafTraces = traces.filter { $0.frames.first?.contains(leaf) ?? false }
    let total = leafTraces.reduce(0) { $0 + $1.value }
    let carrying = leafTraces.filter { trace in
      trace.frames.count > callers.count && zip(trace.frames.dropFirst(), callers).allSatisfy { $0.contains($1) }
    }.reduce(0) { $0 + $1.value }
    return (total > 0 ? carrying / total : 0, total)
  }
}
