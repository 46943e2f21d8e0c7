import Foundation

/// The findings as JSON for scripts: one object per finding with its kinds, occurrence
/// count and every stack, each frame marked as the user's or not. Keys are sorted so that
/// output is byte-for-byte reproducible.
public enum JSONRenderer {
  public static func render(_ analysis: RaceAnalysis) throws -> Data {
    try encode(Document(analysis))
  }

  static func encode(_ value: some Encodable) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(value) + Data("\n".utf8)
  }

  struct Document: Encodable {
    var version = 1
    var reports: Int
    var unparsedReports: Int
    var findings: [FindingJSON]

    init(_ analysis: RaceAnalysis) {
      reports = analysis.reportCount
      unparsedReports = analysis.unparsedReports
      findings = analysis.findings.map(FindingJSON.init)
    }
  }

  struct FindingJSON: Encodable {
    var kind: String
    var kinds: [String]
    var occurrences: Int
    var location: String?
    var notes: [String]
    var stacks: [StackJSON]

    init(_ finding: Finding) {
      kind = finding.kind
      kinds = finding.kinds
      occurrences = finding.occurrences
      location = finding.location
      notes = finding.notes
      stacks = finding.stacks.map(StackJSON.init)
    }
  }

  struct StackJSON: Encodable {
    var title: String
    var thread: ThreadJSON?
    var top: FrameJSON?
    var frames: [FrameJSON]

    init(_ stack: Stack) {
      title = stack.title
      thread = stack.thread.map(ThreadJSON.init)
      top = stack.top.map(FrameJSON.init)
      frames = stack.frames.map(FrameJSON.init)
    }
  }

  struct ThreadJSON: Encodable {
    var id: String
    var name: String?
    var createdBy: String?
    var creationSite: FrameJSON?

    init(_ thread: ThreadInfo) {
      id = thread.id
      name = thread.name
      createdBy = thread.createdBy
      creationSite = thread.creationSite.map(FrameJSON.init)
    }
  }

  struct FrameJSON: Encodable {
    var frame: Frame
    var user: Bool

    init(_ frame: Frame) {
      self.frame = frame
      user = frame.isUserCode
    }

    enum Keys: String, CodingKey { case user }

    func encode(to encoder: Encoder) throws {
      try frame.encode(to: encoder)
      var container = encoder.container(keyedBy: Keys.self)
      try container.encode(user, forKey: .user)
    }
  }
}
