/// A distinct problem: all reports whose main stacks (the two conflicting accesses of a
/// race) have the same top user frames, however many times and in however many processes
/// TSan reported them.
public struct Finding: Equatable, Sendable {
  /// Kinds in first-seen order: TSan often reports one race twice, as a "Swift access
  /// race" (from the exclusivity instrumentation) and as a "data race".
  public var kinds: [String]
  public var occurrences: Int
  /// What was raced on, e.g. "global 'racy.counter' of size 8".
  public var location: String?
  /// TSan's other lines, e.g. "Cycle in lock order graph: M0 => M1 => M0".
  public var notes: [String]
  public var stacks: [Stack]
  public var kind: String { kinds[0] }
}

/// A stack of a finding with its thread, e.g. "Write of size 8 by thread T2".
public struct Stack: Equatable, Sendable {
  public var title: String
  public var thread: ThreadInfo?
  public var frames: [Frame]
  /// The frame that identifies the stack in summaries and code scanning.
  public var top: Frame? { frames.topUserFrame }
}

public struct ThreadInfo: Equatable, Sendable {
  /// "T2"; "T0" is the main thread.
  public var id: String
  public var name: String?
  /// The creator as TSan names it: "main thread" or "thread T1".
  public var createdBy: String?
  public var creationStack: [Frame]

  /// The first user frame of the creation stack.
  public var creationSite: Frame? { creationStack.first(where: \.isUserCode) }

  public var label: String {
    let base = id == "T0" ? "main thread" : "thread \(id)"
    return name.map { "\(base) '\($0)'" } ?? base
  }
}

extension Finding {
  /// Groups reports into findings, ordered by the source position of their first stack
  /// so that output is deterministic whatever order processes wrote their logs in.
  public static func group(_ reports: [Report]) -> [Finding] {
    var order: [FindingKey] = []
    var groups: [FindingKey: [Report]] = [:]
    for report in reports {
      let key = FindingKey(report)
      if groups[key] == nil { order.append(key) }
      groups[key, default: []].append(report)
    }
    return order.map { Finding(merging: groups[$0]!) }.sorted(by: Finding.precedes)
  }

  init(merging reports: [Report]) {
    let first = reports[0]
    let lines = SourcePositions(reports.flatMap { $0.mainBlocks.flatMap(\.frames) })
    self.init(
      kinds: reports.map(\.kind).uniqued(),
      occurrences: reports.count,
      location: first.location,
      notes: first.blocks.filter { $0.frames.isEmpty && !$0.title.hasPrefix("Location is") }
        .map { Self.withoutAddresses($0.title) },
      stacks: first.mainBlocks.map { block in
        let thread = first.thread(accessedIn: block)
        return Stack(
          title: Self.title(block.title, naming: thread),
          thread: thread,
          frames: block.frames.map(lines.filling))
      })
  }

  /// "Write of size 8 at 0x7b04 by thread T2" -> "Write of size 8 by thread T2 'worker'".
  private static func title(_ title: String, naming thread: ThreadInfo?) -> String {
    // A bare stack (signal-unsafe call) has no title of its own.
    let title = title.isEmpty ? "Stack" : withoutAddresses(title)
    guard let thread, thread.name != nil else { return title }
    return title.replacing(Report.threadReference) { match in
      "\(match.1) \(thread.label)"
    }
  }

  private static func precedes(_ a: Finding, _ b: Finding) -> Bool {
    let left = a.stacks.first?.top
    let right = b.stacks.first?.top
    return (left?.file ?? "", left?.line ?? 0, left?.function ?? "", a.kind)
      < (right?.file ?? "", right?.line ?? 0, right?.function ?? "", b.kind)
  }

  /// Addresses differ from run to run and say nothing to a reader.
  static func withoutAddresses(_ text: String) -> String {
    text.replacing(#/ at 0x[0-9a-f]+/#, with: "")
  }
}

/// Reports are the same finding when their kind family and the top user frames of their
/// main stacks match. Lines are left out: TSan often prints the racing frame of a Swift
/// access without one.
struct FindingKey: Hashable {
  var family: String
  var frames: [String]

  init(_ report: Report) {
    family = report.kind == "Swift access race" ? "data race" : report.kind
    frames = report.mainBlocks.prefix(2).compactMap(\.frames.topUserFrame)
      .map { "\($0.function) \($0.file ?? "")" }.sorted()
  }
}

/// Fills in a frame's missing line from another frame of the same function and file.
struct SourcePositions {
  private var positions: [String: (line: Int, column: Int?)] = [:]

  init(_ frames: [Frame]) {
    for frame in frames {
      guard let line = frame.line else { continue }
      positions[Self.key(frame)] = positions[Self.key(frame)] ?? (line, frame.column)
    }
  }

  func filling(_ frame: Frame) -> Frame {
    guard frame.line == nil, let position = positions[Self.key(frame)] else { return frame }
    var filled = frame
    filled.line = position.line
    filled.column = position.column
    return filled
  }

  private static func key(_ frame: Frame) -> String {
    "\(frame.function) \(frame.file ?? "")"
  }
}

extension Report {
  /// The stacks that describe the problem itself (the accesses of a race, the lock
  /// acquisitions of an inversion); thread, location, mutex-creation and "as if
  /// synchronized via sleep" stacks only add context. A report with nothing else (a
  /// thread leak) keeps all its stacks.
  var mainBlocks: [Block] {
    let stacks = blocks.filter { !$0.frames.isEmpty }
    let main = stacks.filter { block in
      !["Thread T", "Location is", "As if synchronized"].contains(where: block.title.hasPrefix)
        && block.title.firstMatch(of: /^Mutex M\d+ \(0x[0-9a-f]+\) created at/) == nil
    }
    return main.isEmpty ? stacks : main
  }

  var threads: [ThreadInfo] {
    blocks.compactMap { block in
      guard
        let match = block.title.firstMatch(
          of: /^Thread (T\d+)(?: '([^']*)')? \(tid=\d+, [^)]*\)(?: created by (.+) at)?/)
      else { return nil }
      return ThreadInfo(
        id: String(match.1), name: match.2.map(String.init), createdBy: match.3.map(String.init),
        creationStack: block.frames)
    }
  }

  /// "global 'racy.counter' of size 8" from "Location is global 'racy.counter' of size 8
  /// at 0x... (racy-demo+0x...)".
  var location: String? {
    guard let block = blocks.first(where: { $0.title.hasPrefix("Location is ") }) else {
      return nil
    }
    let text = Finding.withoutAddresses(String(block.title.dropFirst("Location is ".count)))
    return text.replacing(#/ \([^()]*\+0x[0-9a-f]+\)$/#, with: "")
  }

  static var threadReference: Regex<(Substring, Substring, Substring, Substring?)> {
    /(by|in) (main thread|thread (T\d+))/
  }

  /// The thread named by "... by thread T2" or "... in main thread" in a block's title.
  func thread(accessedIn block: Block) -> ThreadInfo? {
    guard let match = block.title.firstMatch(of: Self.threadReference) else { return nil }
    let id = match.3.map(String.init) ?? "T0"
    return threads.first { $0.id == id }
      ?? ThreadInfo(id: id, name: nil, createdBy: nil, creationStack: [])
  }
}

extension Array where Element: Equatable {
  /// The elements in first-seen order, each once.
  func uniqued() -> [Element] {
    reduce(into: []) { unique, element in
      if !unique.contains(element) { unique.append(element) }
    }
  }
}
