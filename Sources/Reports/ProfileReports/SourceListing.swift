import Pprof

/// pprof's -list: for each function whose name matches, its source lines with
/// the flat and cum value of the samples at each line.
public struct SourceListing: Sendable {
  public struct Routine: Sendable, Equatable {
    public var name: String
    public var file: String
    public var flat: Int64 = 0
    public var cum: Int64 = 0
    /// Line number -> (flat, cum).
    public var lines: [Int64: LineValues] = [:]
  }

  public struct LineValues: Sendable, Equatable {
    public var flat: Int64 = 0
    public var cum: Int64 = 0
  }

  public private(set) var routines: [Routine] = []
  /// Over all samples, as FunctionTotals.total.
  public private(set) var total: Int64 = 0
  /// Lines of context shown around the sampled lines.
  public static let context: Int64 = 5

  public init(_ profile: Profile, _ stacks: CallStacks, valueIndex: Int, filter: SampleFilter = .all,
              matching matcher: FunctionMatcher) {
    let matched = matcher.matches(stacks.functions)
    var routineOf = [Int](repeating: -1, count: stacks.functions.count)
    for (index, function) in stacks.functions.enumerated() where matched[index] {
      routineOf[index] = routines.count
      routines.append(Routine(name: function.name, file: function.file))
    }
    // The last sample that added cum to each routine and line: recursion counts once, in O(frames).
    var counted = CountedInSample(routineCount: routines.count)
    for (number, sample) in profile.samples.enumerated() {
      let value = sample.values[valueIndex]
      total.addSaturating(value)
      guard filter.keeps(sample, stacks) else { continue }
      var isLeaf = true
      stacks.forEachFrame(of: sample) { frame in
        defer { isLeaf = false }
        let routine = routineOf[Int(frame.function)]
        guard routine >= 0 else { return }
        add(value, routine: routine, line: frame.line, isLeaf: isLeaf, sample: number, counted: &counted)
      }
    }
    routines.removeAll { $0.lines.isEmpty }
  }

  /// Flat to the leaf; cum once per sample to each routine and to each of its lines.
  private mutating func add(_ value: Int64, routine: Int, line: Int64, isLeaf: Bool, sample: Int,
                            counted: inout CountedInSample) {
    if isLeaf {
      routines[routine].flat.addSaturating(value)
      routines[routine].lines[line, default: LineValues()].flat.addSaturating(value)
    }
    if counted.routines[routine] != sample {
      counted.routines[routine] = sample
      routines[routine].cum.addSaturating(value)
    }
    if counted.lines.updateValue(sample, forKey: LineKey(routine: routine, line: line)) != sample {
      routines[routine].lines[line, default: LineValues()].cum.addSaturating(value)
    }
  }

  private struct LineKey: Hashable {
    var routine: Int
    var line: Int64
  }

  private struct CountedInSample {
    var routines: [Int]
    var lines: [LineKey: Int] = [:]

    init(routineCount: Int) { routines = [Int](repeating: -1, count: routineCount) }
  }

  /// The listing as pprof prints it; `source` returns a file's lines, or nil when it cannot be read.
  public func render(format: ValueFormat, source: (String) -> [String]?) -> String {
    var text = "Total: \(format.format(total))\n"
    for routine in routines {
      text += "ROUTINE ======================== \(routine.name) in \(routine.file)\n"
      text += pad(format.format(routine.flat), 10) + " " + pad(format.format(routine.cum), 10)
        + " (flat, cum) \(percentage(routine.cum, of: total)) of Total\n"
      let lines = routine.file.isEmpty ? nil : source(routine.file)
      if lines == nil { text += "    (source not found: \(routine.file.isEmpty ? "no file name in the profile" : routine.file))\n" }
      for number in shownLines(routine, lineCount: lines?.count) {
        let values = routine.lines[number] ?? LineValues()
        let code = lines.flatMap { number >= 1 && number <= Int64($0.count) ? $0[Int(number - 1)] : nil } ?? ""
        text += pad(dot(values.flat, format), 10) + " " + pad(dot(values.cum, format), 10) + " "
          + pad(String(number), 6) + ":" + code + "\n"
      }
    }
    return text
  }

  /// The sampled lines with context around them; without the file, only the sampled lines.
  private func shownLines(_ routine: Routine, lineCount: Int?) -> [Int64] {
    let sampled = routine.lines.keys.sorted()
    guard let lineCount, let first = sampled.first, let last = sampled.last else { return sampled }
    let from = max(1, first.subtractingSaturating(Self.context)), to = min(Int64(lineCount), last.addingSaturating(Self.context))
    return from <= to ? Array(from...to) : sampled
  }

  private func dot(_ value: Int64, _ format: ValueFormat) -> String { value == 0 ? "." : format.format(value) }
}
