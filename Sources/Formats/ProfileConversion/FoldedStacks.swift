import Pprof
import ProfileReports

/// Collapsed ("folded") stacks: one line per distinct stack, `root;...;leaf COUNT`,
/// the format of flamegraph.pl, speedscope and Perfetto.
public enum FoldedStacks {
  /// Lines in call-tree order (callers, then callees by name); counts are integers.
  public static func write(_ tree: CallTree) -> String {
    var text = ""
    tree.walk { path, node in
      guard node.selfValue != 0 else { return }
      text += path.map { escape(tree.name(of: tree.nodes[$0])) }.joined(separator: ";")
      text += " \(node.selfValue)\n"
    }
    return text
  }

  /// ';' separates frames and newlines separate stacks: inside names they become ':' and ' '.
  public static func escape(_ name: String) -> String {
    guard name.contains(where: { $0 == ";" || $0.isNewline }) else { return name }
    return String(name.map { $0 == ";" ? ":" : ($0.isNewline ? " " : $0) })
  }

  /// A profile with one sample per line: type `samples/count` unless given, one
  /// function and location per distinct frame name.
  public static func read(_ text: String, sampleType: ValueType = ValueType(type: "samples", unit: "count")) throws(FoldedFormatError) -> Profile {
    var profile = Profile()
    profile.sampleTypes = [sampleType]
    var ids: [Substring: UInt64] = [:]
    for (number, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
    where !line.allSatisfy(\.isWhitespace) {
      let (frames, count) = try parse(line, number: number + 1)
      let locationIDs = frames.reversed().map { frame in
        if let id = ids[frame] { return id }
        let id = UInt64(ids.count + 1)
        ids[frame] = id
        var function = Function(id: id)
        function.name = String(frame)
        profile.functions.append(function)
        var location = Location(id: id)
        location.lines = [Line(functionID: id, line: 0)]
        profile.locations.append(location)
        return id
      }
      profile.samples.append(Sample(locationIDs: locationIDs, values: [count]))
    }
    return profile
  }

  private static func parse(_ line: Substring, number: Int) throws(FoldedFormatError) -> ([Substring], Int64) {
    var trimmed = line.drop { $0.isWhitespace }
    while trimmed.last?.isWhitespace == true { trimmed.removeLast() }
    guard let space = trimmed.lastIndex(of: " ") else { throw .missingCount(line: number) }
    guard let count = Int64(trimmed[trimmed.index(after: space)...]), count >= 0 else {
      throw .badCount(line: number, String(trimmed[trimmed.index(after: space)...]))
    }
    let frames = trimmed[..<space].split(separator: ";", omittingEmptySubsequences: false)
    guard !frames.contains(where: \.isEmpty) else { throw .emptyFrame(line: number) }
    return (frames, count)
  }
}

/// What is wrong with text that should hold folded stacks.
public enum FoldedFormatError: Error, Equatable, CustomStringConvertible {
  case missingCount(line: Int)
  case badCount(line: Int, String)
  case emptyFrame(line: Int)

  public var description: String {
    switch self {
    case .missingCount(let line): "line \(line): expected \"frame;frame;... COUNT\""
    case .badCount(let line, let count): "line \(line): the count \"\(count)\" is not a non-negative integer"
    case .emptyFrame(let line): "line \(line): empty frame name"
    }
  }
}

extension FoldedStacks {
  /// Whether the first bytes of a file still being read can begin folded stacks: each
  /// line, once complete, is parsed as `read` parses it.
  public struct PrefixCheck {
    /// Where the next line starts, and its number.
    private var nextLine = 0, lineNumber = 0

    public init() {}

    /// Why `bytesSoFar` (the file's first bytes) cannot begin folded stacks, or nil.
    public mutating func problem(_ bytesSoFar: [UInt8]) -> FoldedFormatError? {
      while let newline = bytesSoFar[nextLine...].firstIndex(of: UInt8(ascii: "\n")) {
        let lines = String(decoding: bytesSoFar[nextLine...newline], as: UTF8.self)
          .split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).dropLast()
        for line in lines {
          lineNumber += 1
          if line.allSatisfy(\.isWhitespace) { continue }
          do { _ = try FoldedStacks.parse(line, number: lineNumber) } catch { return error }
        }
        nextLine = newline + 1
      }
      return nil
    }
  }
}
