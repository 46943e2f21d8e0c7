import Pprof

/// Flat and cumulative value of every function, as pprof's graph counts them:
/// flat goes to the leaf frame, cum once per sample to each function on the
/// stack however often it recurs.
public struct FunctionTotals: Sendable {
  public private(set) var flat: [Int64]
  public private(set) var cum: [Int64]
  /// Whether a function was seen called inline, and called not inline, from some caller.
  public private(set) var calledInline: [Bool]
  public private(set) var calledNotInline: [Bool]
  /// The sum of the chosen value over all samples, kept or not: pprof's percentages
  /// stay shares of the whole profile when --focus or --ignore select samples.
  public private(set) var total: Int64 = 0

  public init(_ profile: Profile, _ stacks: CallStacks, valueIndex: Int, filter: SampleFilter = .all) {
    let count = stacks.functions.count
    flat = [Int64](repeating: 0, count: count)
    cum = flat
    calledInline = [Bool](repeating: false, count: count)
    calledNotInline = calledInline
    var lastCounted = [Int](repeating: -1, count: count)
    for (sampleNumber, sample) in profile.samples.enumerated() {
      let value = sample.values[valueIndex]
      total.addSaturating(value)
      // Samples of value 0 add nothing, not even how a function was called, as in pprof's graph.
      if value != 0 && filter.keeps(sample, stacks) { add(sample, value, stacks, stamp: sampleNumber, lastCounted: &lastCounted) }
    }
  }

  private mutating func add(_ sample: Sample, _ value: Int64, _ stacks: CallStacks, stamp: Int,
                            lastCounted: inout [Int]) {
    var isLeaf = true
    var callee: CallStacks.Frame?
    stacks.forEachFrame(of: sample) { frame in
      let function = Int(frame.function)
      if isLeaf { flat[function].addSaturating(value); isLeaf = false }
      if lastCounted[function] != stamp {
        lastCounted[function] = stamp
        cum[function].addSaturating(value)
      }
      // The frame below this one was called from it: record how.
      if let callee {
        if callee.isInlined { calledInline[Int(callee.function)] = true } else { calledNotInline[Int(callee.function)] = true }
      }
      callee = frame
    }
  }
}
