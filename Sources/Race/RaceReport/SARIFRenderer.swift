import Foundation

/// SARIF 2.1.0 for code scanning: one rule per TSan kind, one result per finding with a
/// location (file and line) for each conflicting stack, the full stacks, and the number
/// of reports merged into it. Paths inside the source root are relative to %SRCROOT%.
public struct SARIFRenderer: Sendable {
  public var paths: SourcePaths
  public var toolVersion: String

  public init(paths: SourcePaths, toolVersion: String) {
    self.paths = paths
    self.toolVersion = toolVersion
  }

  public func render(_ analysis: RaceAnalysis) throws -> Data {
    let kinds = analysis.findings.map(\.kind).uniqued()
    let run = Run(
      tool: Tool(
        driver: Driver(
          name: "prof race", version: toolVersion,
          informationUri: "https://clang.llvm.org/docs/ThreadSanitizer.html",
          rules: kinds.map(Rule.init))),
      originalUriBaseIds: [
        "SRCROOT": ArtifactLocation(uri: URL(fileURLWithPath: paths.root).absoluteString)
      ],
      results: analysis.findings.map { result($0, ruleIndex: kinds.firstIndex(of: $0.kind)!) })
    return try JSONRenderer.encode(Log(runs: [run]))
  }

  private func result(_ finding: Finding, ruleIndex: Int) -> Result {
    Result(
      ruleId: Rule.id(finding.kind), ruleIndex: ruleIndex,
      message: Message(text: message(finding)),
      locations: finding.stacks.compactMap { stack in
        stack.top.flatMap { location($0, message: stack.title) }
      },
      stacks: finding.stacks.map { stack in
        SARIFStack(
          message: Message(text: stack.title),
          frames: stack.frames.map { frame in
            StackFrame(
              location: location(frame, message: nil)
                ?? Location(logicalLocations: [LogicalLocation(fullyQualifiedName: frame.function)]),
              module: frame.module)
          })
      },
      occurrenceCount: finding.occurrences,
      partialFingerprints: ["profRaceKey/v1": fingerprint(finding)])
  }

  private func message(_ finding: Finding) -> String {
    var text = "ThreadSanitizer: \(finding.kinds.joined(separator: " / "))"
    if let location = finding.location { text += " on \(location)" }
    let accesses = finding.stacks.map { stack in
      let place = stack.top.map { " in \($0.function)\(position($0))" } ?? ""
      return stack.title + place
    }
    text += ": " + accesses.joined(separator: ", conflicting with ")
    return text + " (\(finding.occurrences) report\(finding.occurrences == 1 ? "" : "s"))."
  }

  private func position(_ frame: Frame) -> String {
    guard let file = frame.file else { return "" }
    return " at \(paths.display(file))" + (frame.line.map { ":\($0)" } ?? "")
  }

  /// Code scanning matches results across runs by fingerprint: the frames, not the lines.
  private func fingerprint(_ finding: Finding) -> String {
    let frames = finding.stacks.compactMap(\.top).map { "\($0.function)@\($0.file ?? "")" }
    return ([finding.kind] + frames.sorted()).joined(separator: "|")
  }

  private func location(_ frame: Frame, message: String?) -> Location? {
    guard let file = frame.file, frame.isUserCode else { return nil }
    let artifact: ArtifactLocation
    if let relative = paths.relative(file) {
      artifact = ArtifactLocation(
        uri: relative.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? relative,
        uriBaseId: "SRCROOT")
    } else {
      artifact = ArtifactLocation(uri: URL(fileURLWithPath: file).absoluteString)
    }
    return Location(
      physicalLocation: PhysicalLocation(
        artifactLocation: artifact,
        region: frame.line.map { Region(startLine: $0, startColumn: frame.column) }),
      logicalLocations: [LogicalLocation(fullyQualifiedName: frame.function)],
      message: message.map(Message.init))
  }
}

// The subset of the SARIF 2.1.0 object model that prof writes.
extension SARIFRenderer {
  struct Log: Encodable {
    var schema =
      "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    var version = "2.1.0"
    var runs: [Run]

    enum CodingKeys: String, CodingKey {
      case schema = "$schema"
      case version, runs
    }
  }

  struct Run: Encodable {
    var tool: Tool
    var originalUriBaseIds: [String: ArtifactLocation]
    var results: [Result]
  }

  struct Tool: Encodable {
    var driver: Driver
  }

  struct Driver: Encodable {
    var name: String
    var version: String
    var informationUri: String
    var rules: [Rule]
  }

  struct Rule: Encodable {
    var id: String
    var name: String
    var shortDescription: Message
    var defaultConfiguration = Configuration(level: "error")

    init(kind: String) {
      id = Self.id(kind)
      name = kind
      shortDescription = Message(text: "ThreadSanitizer: \(kind)")
    }

    /// "lock-order-inversion (potential deadlock)" -> "tsan/lock-order-inversion-potential-deadlock"
    static func id(_ kind: String) -> String {
      let words = kind.lowercased().split { !$0.isLetter && !$0.isNumber }
      return "tsan/" + words.joined(separator: "-")
    }
  }

  struct Configuration: Encodable {
    var level: String
  }

  struct Message: Encodable {
    var text: String
  }

  struct Result: Encodable {
    var ruleId: String
    var ruleIndex: Int
    var level = "error"
    var message: Message
    var locations: [Location]
    var stacks: [SARIFStack]
    var occurrenceCount: Int
    var partialFingerprints: [String: String]
  }

  struct Location: Encodable {
    var physicalLocation: PhysicalLocation?
    var logicalLocations: [LogicalLocation]
    var message: Message?
  }

  struct PhysicalLocation: Encodable {
    var artifactLocation: ArtifactLocation
    var region: Region?
  }

  struct ArtifactLocation: Encodable {
    var uri: String
    var uriBaseId: String?
  }

  struct Region: Encodable {
    var startLine: Int
    var startColumn: Int?
  }

  struct LogicalLocation: Encodable {
    var fullyQualifiedName: String
  }

  struct SARIFStack: Encodable {
    var message: Message
    var frames: [StackFrame]
  }

  struct StackFrame: Encodable {
    var location: Location
    var module: String?
  }
}
