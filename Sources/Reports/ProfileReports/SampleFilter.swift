import Pprof

/// pprof's -focus and -ignore: keep the samples with a frame whose function or
/// file name matches focus, and none matching ignore. Matching is decided once
/// per location, then each sample only reads booleans.
public struct SampleFilter: Sendable {
  private var focus: [Bool]?
  private var ignore: [Bool]?

  public static let all = SampleFilter()

  private init() {}

  public init(_ stacks: CallStacks, focus: String?, ignore: String?) throws(ReportError) {
    self.focus = try focus.map { pattern throws(ReportError) in try Self.matchingLocations(stacks, pattern) }
    self.ignore = try ignore.map { pattern throws(ReportError) in try Self.matchingLocations(stacks, pattern) }
  }

  public var isActive: Bool { focus != nil || ignore != nil }

  /// The options that match no location of the profile, named as go tool pprof's
  /// warning names them ("Focus expression matched no samples"): a location that
  /// ignore matches does not count for focus.
  public var unmatched: [String] {
    var names: [String] = []
    if let focus, !focus.indices.contains(where: { focus[$0] && ignore?[$0] != true }) { names.append("Focus") }
    if let ignore, !ignore.contains(true) { names.append("Ignore") }
    return names
  }

  @inline(__always)
  public func keeps(_ sample: Sample, _ stacks: CallStacks) -> Bool {
    if let focus, !sample.locationIDs.contains(where: { focus[stacks.locationIndex($0)] }) { return false }
    if let ignore, sample.locationIDs.contains(where: { ignore[stacks.locationIndex($0)] }) { return false }
    return true
  }

  private static func matchingLocations(_ stacks: CallStacks, _ pattern: String) throws(ReportError) -> [Bool] {
    let functions = try FunctionMatcher(pattern).matches(stacks.functions)
    return (0..<stacks.locationCount).map { location in
      stacks.frames[stacks.frames(ofLocation: location)].contains { functions[Int($0.function)] }
    }
  }
}

/// A regular expression (RE2 syntax, as go tool pprof's) tried against each function's
/// name and source file, in time linear in their length whatever the pattern.
public struct FunctionMatcher {
  private let regex: LinearRegex

  public init(_ pattern: String) throws(ReportError) {
    do {
      regex = try LinearRegex(pattern)
    } catch {
      throw .invalidRegex(pattern, reason: error.description)
    }
  }

  public func matches(_ function: CallStacks.FunctionInfo) -> Bool {
    regex.matches(function.name) || regex.matches(function.file)
  }

  public func matches(_ functions: [CallStacks.FunctionInfo]) -> [Bool] { functions.map(matches) }

  /// The name alone: pprof's -list selects functions by name only.
  public func matchesName(_ name: String) -> Bool { regex.matches(name) }
}
