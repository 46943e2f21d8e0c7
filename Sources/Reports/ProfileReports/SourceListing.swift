import Pprof

/// pprof's -list: for each function whose name matches, and each source file it was
/// sampled in, its source lines with the flat and cum value of the samples at each
/// line, as go tool pprof prints them: routines by name, then file.
public struct SourceListing: Sendable {
  public struct Routine: Sendable, Equatable {
    public var name: String
    /// "": the function was sampled only where no file is known.
    public var file: String
    public var flat: Int64 = 0
    public var cum: Int64 = 0
    /// Line number -> (flat, cum).
    public var lines: [Int64: LineValues] = [:]
    /// Where the listing starts: the function's first line, else 5 lines before the first sampled one.
    var firstLine: Int64 = 0
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

  /// One line of one function in one file: a node of pprof's graph at line granularity.
  private struct LineKey: Hashable {
    var function: Int32
    var file: Int32
    var line: Int64
    var startLine: Int64
  }

  /// A routine while its lines are added up, with exact sums.
  private struct ExactRoutine {
    var routine: Routine
    var flat: Int128 = 0, cum: Int128 = 0
    var lines: [Int64: (flat: Int128, cum: Int128)] = [:]

    var clamped: Routine {
      var routine = routine
      routine.flat = Int64(clamping: flat)
      routine.cum = Int64(clamping: cum)
      routine.lines = lines.mapValues { LineValues(flat: Int64(clamping: $0.flat), cum: Int64(clamping: $0.cum)) }
      return routine
    }
  }

  /// Exact sums (128 bits), clamped to Int64 once done: independent of sample order.
  private struct LineNode {
    var flat: Int128 = 0
    var cum: Int128 = 0
    /// The last sample that added to cum: recursion counts once per sample.
    var lastSample = -1
  }

  public init(_ profile: Profile, _ stacks: CallStacks, valueIndex: Int, filter: SampleFilter = .all,
              matching matcher: FunctionMatcher) {
    var nodes: [LineKey: LineNode] = [:]
    var exactTotal: Int128 = 0
    defer { total = Int64(clamping: exactTotal) }
    for (number, sample) in profile.samples.enumerated() {
      let value = sample.values[valueIndex]
      exactTotal &+= Int128(value)
      // pprof's graph leaves out samples of value 0, so they show no lines.
      guard value != 0, filter.keeps(sample, stacks) else { continue }
      var isLeaf = true
      stacks.forEachFrame(of: sample) { frame in
        let key = LineKey(function: frame.function, file: frame.file, line: frame.line, startLine: frame.startLine)
        var node = nodes[key] ?? LineNode()
        if isLeaf { node.flat &+= Int128(value) }
        if node.lastSample != number {
          node.lastSample = number
          node.cum &+= Int128(value)
        }
        nodes[key] = node
        isLeaf = false
      }
    }
    let matched = stacks.functions.map { matcher.matchesName($0.name) }
    // As pprof sums a routine: flat and cum of its lines added up; its listing starts
    // where its first node (by line here; pprof takes them in map order) says.
    var byFunctionAndFile: [Int32: [Int32: ExactRoutine]] = [:]
    for (key, node) in nodes.sorted(by: { ($0.key.line, $0.key.startLine) < ($1.key.line, $1.key.startLine) })
    where matched[Int(key.function)] && !stacks.functions[Int(key.function)].isUnsymbolized {
      let name = stacks.functions[Int(key.function)].name
      var routine = byFunctionAndFile[key.function, default: [:]][key.file]
        ?? ExactRoutine(routine: Routine(name: name, file: stacks.files[Int(key.file)]))
      let first = key.startLine != 0 ? key.startLine : key.line.subtractingSaturating(Self.context)
      routine.routine.firstLine = routine.lines.isEmpty ? first : min(routine.routine.firstLine, first)
      routine.flat &+= node.flat
      routine.cum &+= node.cum
      routine.lines[key.line, default: (0, 0)].flat &+= node.flat
      routine.lines[key.line, default: (0, 0)].cum &+= node.cum
      byFunctionAndFile[key.function, default: [:]][key.file] = routine
    }
    for files in byFunctionAndFile.values {
      let all = files.values.map(\.clamped)
      let known = all.filter { !$0.file.isEmpty }
      routines += known.isEmpty ? all : known
    }
    routines.sort { $0.name != $1.name ? $0.name < $1.name : $0.file < $1.file }
  }

  /// The listing as pprof prints it, each value in its own best unit; `source` returns a
  /// file's lines, or why it cannot be read (pprof's "open FILE: no such file or directory").
  public func render(format: ValueFormat, source: (String) -> Result<[String], SourceUnavailable>) -> String {
    var text = "Total: \(format.format(total))\n"
    // Each file is read once; as in pprof, a file that failed fails every later routine
    // in it, even one with no lines to show.
    var read: [String: Result<[String], SourceUnavailable>] = [:]
    for routine in routines {
      guard !routine.file.isEmpty else {
        text += "No source information for \(routine.name)\n"
        continue
      }
      text += "ROUTINE ======================== \(routine.name) in \(routine.file)\n"
      text += pad(format.format(routine.flat), 10) + " " + pad(format.format(routine.cum), 10)
        + " (flat, cum) \(percentage(routine.cum, of: total)) of Total\n"
      let range = shownLines(routine)
      if range != nil && read[routine.file] == nil { read[routine.file] = source(routine.file) }
      let lines: [String]
      switch read[routine.file] {
      case nil: continue
      case .success(let read): lines = read
      case .failure(let reason):
        text += " Error: \(reason.description)\n"
        continue
      }
      guard let range else { continue }
      for number in range where number <= Int64(lines.count) {
        let values = routine.lines[number] ?? LineValues()
        let code = number >= 1 && number <= Int64(lines.count) ? lines[Int(number - 1)] : ""
        text += pad(dot(values.flat, format), 10) + " " + pad(dot(values.cum, format), 10) + " "
          + pad(String(number), 6) + ":" + code + "\n"
      }
    }
    return text
  }

  /// Why a source file cannot be listed, as pprof says it.
  public struct SourceUnavailable: Error, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
  }

  /// From the routine's first line to 5 lines past its last sampled one (cut at the file's end).
  private func shownLines(_ routine: Routine) -> ClosedRange<Int64>? {
    guard let last = routine.lines.keys.max() else { return nil }
    let from = max(1, routine.firstLine), to = last.addingSaturating(Self.context)
    return from <= to ? from...to : nil
  }

  private func dot(_ value: Int64, _ format: ValueFormat) -> String { value == 0 ? "." : format.format(value) }
}
