/// A regular expression in RE2's syntax, the syntax of go tool pprof's -focus and
/// -list, matched in time linear in the text: a Thompson NFA whose states are all
/// followed at once (as RE2 and Go's regexp do), never backtracking, so a pattern
/// like `^(a+)+$` takes microseconds where a backtracking engine takes minutes.
/// Only whether a match exists is computed. Backreferences and lookaround, which
/// RE2 also rejects, and Unicode classes (`\pL`) are not supported.
public struct LinearRegex: Sendable {
  /// RE2's limits: repeat counts up to 1000, nesting up to 1000, and here a program
  /// of at most 100,000 instructions, so that `(a{1000}){1000}` is an error, not a hang.
  static let maximumRepeat = 1000
  static let maximumDepth = 1000
  static let maximumProgram = 100_000

  private let program: [Instruction]

  public init(_ pattern: String) throws(RegexSyntaxError) {
    var parser = RegexParser(pattern)
    let tree = try parser.parse()
    var compiler = RegexCompiler()
    try compiler.emit(tree)
    compiler.program.append(.match)
    program = compiler.program
  }

  /// Whether the pattern matches anywhere in `text`.
  public func matches(_ text: String) -> Bool {
    let text = Array(text.unicodeScalars)
    var current = StateSet(count: program.count), next = StateSet(count: program.count)
    for position in 0...text.count {
      // Unanchored: a new attempt starts at every position.
      if add(0, at: position, in: text, to: &current) { return true }
      guard position < text.count else { break }
      for pc in current.states {
        guard case .scalar(let set) = program[pc], set.contains(text[position]) else { continue }
        if add(pc + 1, at: position + 1, in: text, to: &next) { return true }
      }
      swap(&current, &next)
      next.clear()
    }
    return false
  }

  /// Adds `pc` and every state reachable from it without reading a scalar; true on reaching `match`.
  private func add(_ pc: Int, at position: Int, in text: [Unicode.Scalar], to set: inout StateSet) -> Bool {
    var pending = [pc]
    while let pc = pending.popLast() {
      guard set.insert(pc) else { continue }
      switch program[pc] {
      case .match: return true
      case .scalar: break
      case .jump(let target): pending.append(target)
      case .split(let first, let second): pending += [second, first]
      case .assert(let assertion): if assertion.holds(at: position, in: text) { pending.append(pc + 1) }
      }
    }
    return false
  }
}

/// Why a pattern is not a regular expression prof can run.
public struct RegexSyntaxError: Error, Equatable, CustomStringConvertible {
  public let description: String
  init(_ description: String) { self.description = description }
}

enum Instruction: Sendable {
  case scalar(ScalarSet)
  case split(Int, Int)
  case jump(Int)
  case assert(Assertion)
  case match
}

enum Assertion: Sendable {
  case textStart, textEnd, lineStart, lineEnd, wordBoundary, notWordBoundary

  func holds(at position: Int, in text: [Unicode.Scalar]) -> Bool {
    let before = position > 0 ? text[position - 1] : nil, after = position < text.count ? text[position] : nil
    switch self {
    case .textStart: return position == 0
    case .textEnd: return position == text.count
    case .lineStart: return before == nil || before == "\n"
    case .lineEnd: return after == nil || after == "\n"
    case .wordBoundary, .notWordBoundary:
      let boundary = (before.map(ScalarSet.isWord) ?? false) != (after.map(ScalarSet.isWord) ?? false)
      return boundary == (self == .wordBoundary)
    }
  }
}

/// Scalars as inclusive ranges, maybe negated, maybe compared case-insensitively.
struct ScalarSet: Sendable {
  var ranges: [ClosedRange<UInt32>] = []
  var negated = false
  var foldsCase = false

  static let digits: [ClosedRange<UInt32>] = [0x30...0x39]
  static let word: [ClosedRange<UInt32>] = [0x30...0x39, 0x41...0x5a, 0x5f...0x5f, 0x61...0x7a]
  static let space: [ClosedRange<UInt32>] = [0x09...0x0a, 0x0c...0x0d, 0x20...0x20]

  static func isWord(_ scalar: Unicode.Scalar) -> Bool { word.contains { $0.contains(scalar.value) } }

  /// Every scalar not in `ranges`.
  static func complement(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
    var result: [ClosedRange<UInt32>] = [], next: UInt32 = 0
    for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
      if range.lowerBound > next { result.append(next...(range.lowerBound - 1)) }
      next = max(next, range.upperBound &+ 1)
      if range.upperBound == 0x10ffff { return result }
    }
    return result + [next...0x10ffff]
  }

  func contains(_ scalar: Unicode.Scalar) -> Bool {
    var found = ranges.contains { $0.contains(scalar.value) }
    if !found && foldsCase {
      for mapping in [scalar.properties.lowercaseMapping, scalar.properties.uppercaseMapping] {
        let scalars = mapping.unicodeScalars
        if scalars.count == 1, let other = scalars.first, ranges.contains(where: { $0.contains(other.value) }) {
          found = true
          break
        }
      }
    }
    return found != negated
  }
}

indirect enum RegexNode {
  case set(ScalarSet)
  case assertion(Assertion)
  case sequence([RegexNode])
  case alternation([RegexNode])
  /// `maximum` nil: unbounded.
  case repetition(RegexNode, minimum: Int, maximum: Int?)
}

/// RE2 syntax to a tree. Flags (i, m, s, U) are applied while parsing, so the tree has none.
struct RegexParser {
  private let scalars: [Unicode.Scalar]
  private var position = 0
  private var depth = 0
  private var caseInsensitive = false, multiLine = false, dotAll = false

  init(_ pattern: String) { scalars = Array(pattern.unicodeScalars) }

  private var peek: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

  mutating func parse() throws(RegexSyntaxError) -> RegexNode {
    let tree = try alternation()
    if position < scalars.count { throw RegexSyntaxError("unexpected )") }
    return tree
  }

  private mutating func alternation() throws(RegexSyntaxError) -> RegexNode {
    var branches = [try sequence()]
    while peek == "|" {
      position += 1
      branches.append(try sequence())
    }
    return branches.count == 1 ? branches[0] : .alternation(branches)
  }

  private mutating func sequence() throws(RegexSyntaxError) -> RegexNode {
    var items: [RegexNode] = []
    while let next = peek, next != "|", next != ")" {
      guard let atom = try atom() else { continue }
      items.append(try quantified(atom))
    }
    return .sequence(items)
  }

  private mutating func quantified(_ atom: RegexNode) throws(RegexSyntaxError) -> RegexNode {
    guard let (minimum, maximum) = try quantifier() else { return atom }
    if peek == "?" { position += 1 }  // lazy: the same answer to "is there a match"
    if try lookingAtQuantifier() { throw RegexSyntaxError("invalid nested repetition operator") }
    return .repetition(atom, minimum: minimum, maximum: maximum)
  }

  private mutating func lookingAtQuantifier() throws(RegexSyntaxError) -> Bool {
    let start = position
    defer { position = start }
    return try quantifier() != nil
  }

  /// `*`, `+`, `?` or a well-formed `{n}`, `{n,}`, `{n,m}`; any other `{` is a literal, as in RE2.
  private mutating func quantifier() throws(RegexSyntaxError) -> (Int, Int?)? {
    switch peek {
    case "*": position += 1; return (0, nil)
    case "+": position += 1; return (1, nil)
    case "?": position += 1; return (0, 1)
    case "{":
      let start = position
      position += 1
      guard let minimum = number() else { position = start; return nil }
      var maximum: Int? = minimum
      if peek == "," {
        position += 1
        maximum = peek == "}" ? nil : number()
        if maximum == nil && peek != "}" { position = start; return nil }
      }
      guard peek == "}" else { position = start; return nil }
      position += 1
      if minimum > LinearRegex.maximumRepeat || (maximum ?? 0) > LinearRegex.maximumRepeat || (maximum.map { $0 < minimum } ?? false) {
        throw RegexSyntaxError("invalid repeat count")
      }
      return (minimum, maximum)
    default: return nil
    }
  }

  private mutating func number() -> Int? {
    var value: Int?
    while let next = peek, ("0"..."9").contains(next) {
      value = min((value ?? 0) * 10 + Int(next.value - 0x30), 1_000_000)
      position += 1
    }
    return value
  }

  /// One atom, or nil for a flag group such as `(?i)` that only changes how the rest is read.
  private mutating func atom() throws(RegexSyntaxError) -> RegexNode? {
    let next = scalars[position]
    position += 1
    switch next {
    case "(": return try group()
    case "[": return .set(try characterClass())
    case ".":
      return .set(ScalarSet(ranges: dotAll ? [0...0x10ffff] : ScalarSet.complement([0x0a...0x0a])))
    case "^": return .assertion(multiLine ? .lineStart : .textStart)
    case "$": return .assertion(multiLine ? .lineEnd : .textEnd)
    case "\\": return try escape()
    case "*", "+", "?": throw RegexSyntaxError("missing argument to repetition operator: \(next)")
    case "{":
      position -= 1
      if try lookingAtQuantifier() { throw RegexSyntaxError("missing argument to repetition operator: {") }
      position += 1
      return literal(next)
    default: return literal(next)
    }
  }

  private func literal(_ scalar: Unicode.Scalar) -> RegexNode {
    .set(ScalarSet(ranges: [scalar.value...scalar.value], foldsCase: caseInsensitive))
  }

  private mutating func group() throws(RegexSyntaxError) -> RegexNode? {
    let saved = (caseInsensitive, multiLine, dotAll)
    if peek == "?" {
      position += 1
      if peek == "P" { position += 1 }
      if peek == "<" {
        while let next = peek, next != ">" { position += 1 }
        guard peek == ">" else { throw RegexSyntaxError("invalid named capture") }
        position += 1
      } else {
        var negate = false, sawFlag = false
        flags: while let next = peek {
          position += 1
          switch next {
          case "i": caseInsensitive = !negate; sawFlag = true
          case "m": multiLine = !negate; sawFlag = true
          case "s": dotAll = !negate; sawFlag = true
          case "U": sawFlag = true  // ungreedy: the same answer to "is there a match"
          case "-" where !negate: negate = true
          case ")" where sawFlag: return nil  // the flags hold to the end of the enclosing group
          case ":" where sawFlag || !negate: break flags
          default: throw RegexSyntaxError("invalid or unsupported Perl syntax: (?\(next)")
          }
        }
        if position > scalars.count || scalars[position - 1] != ":" { throw RegexSyntaxError("missing closing )") }
      }
    }
    depth += 1
    if depth > LinearRegex.maximumDepth { throw RegexSyntaxError("expression nests too deeply") }
    let inner = try alternation()
    guard peek == ")" else { throw RegexSyntaxError("missing closing )") }
    position += 1
    depth -= 1
    (caseInsensitive, multiLine, dotAll) = saved
    return inner
  }

  private mutating func escape() throws(RegexSyntaxError) -> RegexNode {
    guard let next = peek else { throw RegexSyntaxError("trailing backslash at end of expression") }
    position += 1
    switch next {
    case "A": return .assertion(.textStart)
    case "z": return .assertion(.textEnd)
    case "b": return .assertion(.wordBoundary)
    case "B": return .assertion(.notWordBoundary)
    case "Q":
      var items: [RegexNode] = []
      while position < scalars.count {
        if scalars[position] == "\\" && position + 1 < scalars.count && scalars[position + 1] == "E" {
          position += 2
          break
        }
        items.append(literal(scalars[position]))
        position += 1
      }
      return .sequence(items)
    default:
      let (ranges, negated) = try escapedSet(next)
      return .set(ScalarSet(ranges: ranges, negated: negated, foldsCase: caseInsensitive))
    }
  }

  /// The scalars an escape stands for, inside or outside brackets: \d \w \s and their negations,
  /// control characters, \x hex, escaped punctuation.
  private mutating func escapedSet(_ letter: Unicode.Scalar) throws(RegexSyntaxError) -> ([ClosedRange<UInt32>], Bool) {
    switch letter {
    case "d": return (ScalarSet.digits, false)
    case "D": return (ScalarSet.digits, true)
    case "w": return (ScalarSet.word, false)
    case "W": return (ScalarSet.word, true)
    case "s": return (ScalarSet.space, false)
    case "S": return (ScalarSet.space, true)
    case "n": return ([0x0a...0x0a], false)
    case "t": return ([0x09...0x09], false)
    case "r": return ([0x0d...0x0d], false)
    case "f": return ([0x0c...0x0c], false)
    case "v": return ([0x0b...0x0b], false)
    case "a": return ([0x07...0x07], false)
    case "x":
      let value = try hexEscape()
      return ([value...value], false)
    case _ where letter.isASCII && !ScalarSet.isWord(letter): return ([letter.value...letter.value], false)
    default: throw RegexSyntaxError("invalid or unsupported escape sequence: \\\(letter)")
    }
  }

  private mutating func hexEscape() throws(RegexSyntaxError) -> UInt32 {
    var digits = ""
    if peek == "{" {
      position += 1
      while let next = peek, next != "}" { digits.unicodeScalars.append(next); position += 1 }
      position += 1
    } else {
      for _ in 0..<2 where position < scalars.count {
        digits.unicodeScalars.append(scalars[position])
        position += 1
      }
    }
    guard let value = UInt32(digits, radix: 16), value <= 0x10ffff else { throw RegexSyntaxError("invalid escape sequence: \\x\(digits)") }
    return value
  }

  private static let posixClasses: [String: [ClosedRange<UInt32>]] = [
    "alnum": [0x30...0x39, 0x41...0x5a, 0x61...0x7a], "alpha": [0x41...0x5a, 0x61...0x7a], "ascii": [0...0x7f],
    "blank": [0x09...0x09, 0x20...0x20], "cntrl": [0...0x1f, 0x7f...0x7f], "digit": ScalarSet.digits,
    "graph": [0x21...0x7e], "lower": [0x61...0x7a], "print": [0x20...0x7e],
    "punct": [0x21...0x2f, 0x3a...0x40, 0x5b...0x60, 0x7b...0x7e], "space": [0x09...0x0d, 0x20...0x20],
    "upper": [0x41...0x5a], "word": ScalarSet.word, "xdigit": [0x30...0x39, 0x41...0x46, 0x61...0x66],
  ]

  /// After `[`: items up to `]`, which is a literal when first.
  private mutating func characterClass() throws(RegexSyntaxError) -> ScalarSet {
    var set = ScalarSet(foldsCase: caseInsensitive)
    if peek == "^" { set.negated = true; position += 1 }
    var first = true
    while true {
      guard let next = peek else { throw RegexSyntaxError("missing closing ]") }
      if next == "]" && !first { position += 1; return set }
      first = false
      if next == "[" && position + 1 < scalars.count && scalars[position + 1] == ":" {
        let rest = String(String.UnicodeScalarView(scalars[(position + 2)...]))
        if let end = rest.range(of: ":]") {
          var name = String(rest[..<end.lowerBound]), negated = false
          if name.hasPrefix("^") { name.removeFirst(); negated = true }
          guard let ranges = Self.posixClasses[name] else { throw RegexSyntaxError("invalid character class range: [:\(name):]") }
          set.ranges += negated ? ScalarSet.complement(ranges) : ranges
          position += 2 + rest[..<end.upperBound].unicodeScalars.count
          continue
        }
      }
      let low = try classScalar()
      guard case .single(let lowValue) = low else {
        if case .ranges(let ranges) = low { set.ranges += ranges }
        continue
      }
      if peek == "-" && position + 1 < scalars.count && scalars[position + 1] != "]" {
        position += 1
        guard case .single(let highValue) = try classScalar(), highValue >= lowValue else {
          throw RegexSyntaxError("invalid character class range")
        }
        set.ranges.append(lowValue...highValue)
      } else {
        set.ranges.append(lowValue...lowValue)
      }
    }
  }

  private enum ClassItem {
    case single(UInt32)
    case ranges([ClosedRange<UInt32>])
  }

  private mutating func classScalar() throws(RegexSyntaxError) -> ClassItem {
    let next = scalars[position]
    position += 1
    guard next == "\\" else { return .single(next.value) }
    guard let letter = peek else { throw RegexSyntaxError("missing closing ]") }
    position += 1
    let (ranges, negated) = try escapedSet(letter)
    if !negated && ranges.count == 1 && ranges[0].count == 1 { return .single(ranges[0].lowerBound) }
    return .ranges(negated ? ScalarSet.complement(ranges) : ranges)
  }
}

/// A tree to instructions, as Thompson's construction lays them out.
struct RegexCompiler {
  var program: [Instruction] = []

  mutating func emit(_ node: RegexNode) throws(RegexSyntaxError) {
    if program.count > LinearRegex.maximumProgram { throw RegexSyntaxError("expression too large") }
    switch node {
    case .set(let set): program.append(.scalar(set))
    case .assertion(let assertion): program.append(.assert(assertion))
    case .sequence(let items): for item in items { try emit(item) }
    case .alternation(let branches):
      var jumps: [Int] = []
      for (index, branch) in branches.enumerated() {
        if index < branches.count - 1 {
          let split = program.count
          program.append(.split(split + 1, -1))
          try emit(branch)
          jumps.append(program.count)
          program.append(.jump(-1))
          program[split] = .split(split + 1, program.count)
        } else {
          try emit(branch)
        }
      }
      for jump in jumps { program[jump] = .jump(program.count) }
    case .repetition(let inner, let minimum, let maximum):
      for _ in 0..<minimum { try emit(inner) }
      if let maximum {
        // Each optional copy may be skipped to the end.
        var splits: [Int] = []
        for _ in minimum..<maximum {
          splits.append(program.count)
          program.append(.split(program.count + 1, -1))
          try emit(inner)
        }
        for split in splits { program[split] = .split(split + 1, program.count) }
      } else {
        let split = program.count
        program.append(.split(split + 1, -1))
        try emit(inner)
        program.append(.jump(split))
        program[split] = .split(split + 1, program.count)
      }
    }
  }
}

/// The states of one step, in insertion order, each once.
private struct StateSet {
  private(set) var states: [Int] = []
  private var member: [Bool]

  init(count: Int) { member = [Bool](repeating: false, count: count) }

  mutating func insert(_ pc: Int) -> Bool {
    if member[pc] { return false }
    member[pc] = true
    states.append(pc)
    return true
  }

  mutating func clear() {
    for pc in states { member[pc] = false }
    states.removeAll(keepingCapacity: true)
  }
}
