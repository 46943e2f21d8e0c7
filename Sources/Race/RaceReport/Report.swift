/// One `WARNING: ThreadSanitizer: ...` report, kept close to TSan's own layout: a kind
/// and a list of blocks (an access, a thread, a location, a note...), each with the
/// stack TSan printed under it. Interpretation (which blocks are the accesses, which
/// frames are the user's) lives in extensions, so unknown kinds survive parsing intact.
public struct Report: Equatable, Sendable {
  /// The text after `WARNING: ThreadSanitizer: `, e.g. "data race", "thread leak".
  public var kind: String
  public var pid: Int?
  public var blocks: [Block]
  /// The text after `SUMMARY: ThreadSanitizer: `.
  public var summary: String?

  public init(kind: String, pid: Int? = nil, blocks: [Block] = [], summary: String? = nil) {
    self.kind = kind
    self.pid = pid
    self.blocks = blocks
    self.summary = summary
  }
}

/// A titled part of a report. The title is TSan's header line without its trailing
/// colon ("Write of size 8 at 0x... by thread T2"); it is empty for a bare stack such as
/// the one of a signal-unsafe call. Notes ("Location is global ...") have no frames.
public struct Block: Equatable, Sendable {
  public var title: String
  public var frames: [Frame]

  public init(title: String, frames: [Frame] = []) {
    self.title = title
    self.frames = frames
  }
}

/// One `#N function file:line:col (module+0xoffset)` line of a TSan stack.
public struct Frame: Equatable, Hashable, Sendable, Codable {
  /// As TSan printed it (a mangled Swift name, a C++ name, or nil for `<null>`).
  public var symbol: String?
  /// Demangled and shortened for people; `symbol` when it is not a Swift name.
  public var function: String
  public var file: String?
  public var line: Int?
  public var column: Int?
  /// The binary or library file name, e.g. "racy-demo" or "libswiftCore.so".
  public var module: String?

  /// `function` starts as the symbol; `Report.demangled(by:)` replaces it.
  public init(
    symbol: String?, file: String? = nil, line: Int? = nil, column: Int? = nil,
    module: String? = nil
  ) {
    self.symbol = symbol
    self.function = symbol ?? "<unknown>"
    self.file = file
    self.line = line
    self.column = column
    self.module = module
  }
}
