/// Everything the renderers need from one run: the findings and how complete they are.
public struct RaceAnalysis: Equatable, Sendable {
  public var findings: [Finding]
  public var reportCount: Int
  /// Reports TSan announced ("reported N warnings") beyond those parsed.
  public var unparsedReports: Int
  /// What TSan said of itself, outside reports, each once.
  public var runtimeMessages: [String]

  public init(_ parsed: TSanParser.Result, demangler: Demangler) {
    let reports = parsed.reports.map { $0.demangled(by: demangler) }
    findings = Finding.group(reports)
    reportCount = reports.count
    unparsedReports = max(0, parsed.announcedWarnings - reports.count)
    var seen = Set<String>()
    runtimeMessages = parsed.runtimeMessages.filter { seen.insert($0).inserted }
  }
}

/// Shows source paths relative to the project root when they are inside it.
public struct SourcePaths: Sendable {
  public var root: String

  public init(root: String) {
    self.root = root.hasSuffix("/") ? root : root + "/"
  }

  /// The path below the root, or nil when the file is elsewhere.
  public func relative(_ file: String) -> String? {
    file.hasPrefix(root) ? String(file.dropFirst(root.count)) : nil
  }

  public func display(_ file: String) -> String {
    relative(file) ?? file
  }
}
