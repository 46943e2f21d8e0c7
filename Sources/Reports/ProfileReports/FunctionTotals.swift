import Pprof

/// Flat and cumulative value of every function, as pprof's graph counts them:
/// flat goes to the leaf frame, cum once per sample to each function on the
/// stack however often it recurs.
public struct FunctionTotals: Sendable {
  public private(set) var flat: [Int64]
  public private(set) var cum: [Int64]
  /// Whether a function has a caller that always inlines it, and one that does not
  /// (pprof's "(inline)" and "(partial-inline)", decided per call edge).
  public private(set) var calledInline: [Bool]
  public private(set) var calledNotInline: [Bool]
  /// The sum of the chosen value over all samples, kept or not: pprof's percentages
  /// stay shares of the whole profile when --focus or --ignore select samples.
  public private(set) var total: Int64 = 0

  /// Sums are exact (128 bits) and clamped to Int64 once done, so that they do not
  /// depend on the order of the samples: saturating each addition would.
  public init(_ profile: Profile, _ stacks: CallStacks, valueIndex: Int, filter: SampleFilter = .all) {
    let count = stacks.functions.count
    var sums = Sums(count: count)
    var calledInline = [Bool](repeating: false, count: count)
    var calledNotInline = calledInline
    var lastCounted = [Int](repeating: -1, count: count)
    var edges = InlineEdges(stacks)
    for (sampleNumber, sample) in profile.samples.enumerated() {
      let value = sample.values[valueIndex]
      sums.total &+= Int128(value)
      // Samples of value 0 add nothing, not even how a function was called, as in pprof's graph.
      if value != 0 && filter.keeps(sample, stacks) {
        sums.add(sample, value, stacks, stamp: sampleNumber, lastCounted: &lastCounted) { callee, frame in
          edges.call(callee, from: frame, sample: sampleNumber, calledNotInline: &calledNotInline)
        }
      }
    }
    edges.finish(calledInline: &calledInline, calledNotInline: &calledNotInline)
    self.calledInline = calledInline
    self.calledNotInline = calledNotInline
    flat = sums.flat.map { Int64(clamping: $0) }
    cum = sums.cum.map { Int64(clamping: $0) }
    total = Int64(clamping: sums.total)
  }

  /// Flat, cum and the total while samples are added.
  private struct Sums {
    var flat: [Int128], cum: [Int128], total: Int128 = 0

    init(count: Int) {
      flat = [Int128](repeating: 0, count: count)
      cum = flat
    }

    /// Adds a sample's value; `called` sees each frame with the frame below it.
    mutating func add(_ sample: Sample, _ value: Int64, _ stacks: CallStacks, stamp: Int, lastCounted: inout [Int],
                      called: (_ callee: CallStacks.Frame?, _ caller: CallStacks.Frame) -> Void) {
      var isLeaf = true
      var callee: CallStacks.Frame?
      let wide = Int128(value)
      stacks.forEachFrame(of: sample) { frame in
        let function = Int(frame.function)
        if isLeaf { flat[function] &+= wide; isLeaf = false }
        if lastCounted[function] != stamp {
          lastCounted[function] = stamp
          cum[function] &+= wide
        }
        called(callee, frame)
        callee = frame
      }
    }
  }

  /// How each function in `kept` is called once every other function is left out,
  /// as pprof marks its rows after it trims its graph to the nodes it shows: a call
  /// edge then joins a function to its nearest kept caller, and a function whose
  /// callers were all left out has no edge, so no mark.
  public static func callKinds(_ profile: Profile, _ stacks: CallStacks, valueIndex: Int, filter: SampleFilter = .all,
                               kept: [Bool]) -> (calledInline: [Bool], calledNotInline: [Bool]) {
    var calledInline = [Bool](repeating: false, count: kept.count)
    var calledNotInline = calledInline
    var edges = InlineEdges(stacks)
    for (sampleNumber, sample) in profile.samples.enumerated()
    where sample.values[valueIndex] != 0 && filter.keeps(sample, stacks) {
      var callee: CallStacks.Frame?
      stacks.forEachFrame(of: sample) { frame in
        guard kept[Int(frame.function)] else { return }
        edges.call(callee, from: frame, sample: sampleNumber, calledNotInline: &calledNotInline)
        callee = frame
      }
    }
    edges.finish(calledInline: &calledInline, calledNotInline: &calledNotInline)
    return (calledInline, calledNotInline)
  }
}

/// Call edges into functions that are inlined somewhere, each inline only if every
/// sample through it has it inline, as pprof's graph decides; when an edge recurs in
/// one sample, its occurrence nearest the root counts. Edges into functions never
/// inlined are plainly not inline, and need no bookkeeping.
private struct InlineEdges {
  private let inlinedSomewhere: [Bool]
  /// (caller << 32 | callee) -> the last sample through the edge, its flag there, and
  /// whether every earlier sample had it inline.
  private var edges: [UInt64: (sample: Int, inline: Bool, alwaysInline: Bool)] = [:]

  init(_ stacks: CallStacks) {
    var inlined = [Bool](repeating: false, count: stacks.functions.count)
    for frame in stacks.frames where frame.isInlined { inlined[Int(frame.function)] = true }
    inlinedSomewhere = inlined
  }

  /// The frame below `caller` on a stack was called from it: record how (pprof has
  /// no self edges); a callee never inlined anywhere is plainly called not inline.
  mutating func call(_ callee: CallStacks.Frame?, from caller: CallStacks.Frame, sample: Int, calledNotInline: inout [Bool]) {
    guard let callee, callee.function != caller.function else { return }
    if inlinedSomewhere[Int(callee.function)] {
      record(caller: caller.function, callee: callee.function, inline: callee.isInlined, sample: sample)
    } else {
      calledNotInline[Int(callee.function)] = true
    }
  }

  /// Frames arrive leaf first, so a later call in the same sample is nearer the root and wins.
  private mutating func record(caller: Int32, callee: Int32, inline: Bool, sample: Int) {
    let key = UInt64(UInt32(caller)) << 32 | UInt64(UInt32(callee))
    guard let edge = edges[key] else {
      edges[key] = (sample, inline, true)
      return
    }
    edges[key] = edge.sample == sample ? (sample, inline, edge.alwaysInline)
                                       : (sample, inline, edge.alwaysInline && edge.inline)
  }

  /// Marks each edge's callee as called inline (the edge always was) or not.
  func finish(calledInline: inout [Bool], calledNotInline: inout [Bool]) {
    for (key, edge) in edges {
      let callee = Int(UInt32(truncatingIfNeeded: key))
      if edge.alwaysInline && edge.inline { calledInline[callee] = true } else { calledNotInline[callee] = true }
    }
  }
}
