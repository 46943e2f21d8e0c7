import Foundation
import Glibc

/// What a symbolizer answered for addresses of one build of one module, kept on
/// disk across runs (as perf's ~/.debug and debuginfod's caches are): one file per
/// build ID, so the same libswiftCore is never symbolized twice.
///
/// Safe under concurrent prof runs: an entry is written to a temporary file and
/// renamed into place, so a reader sees a whole old entry or a whole new one; two
/// writers racing lose at most the other's new addresses, which are recomputed.
/// Every entry carries a format version, its build ID, the symbolizer that produced
/// it and a checksum of its contents: one that fails any check is dropped.
/// The directory is kept under `byteLimit` by deleting the least recently used entries.
public struct SymbolCache: Sendable {
  public let directory: String
  public let byteLimit: Int
  /// Which symbolizer (and which build of it) produced the answers; entries from
  /// another are not used.
  public let producer: String

  public static let defaultByteLimit = 100 << 20

  /// Temporary files left by a writer that died, removed after this many seconds.
  private static let abandonedAfterSeconds = 3600

  public init(directory: String, producer: String, byteLimit: Int = defaultByteLimit) {
    self.directory = directory
    self.producer = producer
    self.byteLimit = byteLimit
  }

  /// `$XDG_CACHE_HOME/prof/symbols`, else `$HOME/.cache/prof/symbols`; nil when
  /// neither is an absolute path (the XDG spec ignores relative ones).
  public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
    if let cache = environment["XDG_CACHE_HOME"], cache.hasPrefix("/") { return cache + "/prof/symbols" }
    if let home = environment["HOME"], home.hasPrefix("/") { return home + "/.cache/prof/symbols" }
    return nil
  }

  private func path(of buildID: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    return directory + "/" + String(decoding: buildID.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
  }

  /// The answers stored for `buildID`; empty when there are none or the entry is
  /// unreadable, damaged or from another producer (then it is removed).
  public func load(buildID: [UInt8]) -> [UInt64: [SourceFrame]] {
    let path = path(of: buildID)
    guard let file = try? FileBytes(path: path) else { return [:] }  // regular files only: a FIFO must not hang prof
    let bytes = file.size <= UInt64(byteLimit) ? try? file.read(at: 0, count: Int(file.size)) : nil
    guard let bytes, let entry = SymbolCacheEntry.decode(bytes), entry.buildID == buildID else {
      unlink(path)
      return [:]
    }
    guard entry.producer == producer else { return [:] }
    _ = utimes(path, nil)  // recently used: evicted last
    return entry.frames
  }

  /// Replaces the entry for `buildID`, then evicts beyond the limit. Best effort:
  /// a cache that cannot be written costs only time.
  public func store(_ frames: [UInt64: [SourceFrame]], buildID: [UInt8]) {
    let bytes = SymbolCacheEntry(buildID: buildID, producer: producer, frames: frames).encoded()
    guard (try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)) != nil else { return }
    var template = Array((directory + "/.tmp-XXXXXX").utf8CString)
    let fd = mkstemp(&template)
    guard fd >= 0 else { return }
    let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let written = bytes.withUnsafeBytes { buffer in
      var done = 0
      while done < buffer.count {
        let count = write(fd, buffer.baseAddress! + done, buffer.count - done)
        if count <= 0 { return false }
        done += count
      }
      return true
    }
    close(fd)
    guard written, rename(temporary, path(of: buildID)) == 0 else {
      unlink(temporary)
      return
    }
    evict()
  }

  /// Deletes entries, least recently used first, until the directory fits the limit.
  func evict() {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
    let now = Int(time(nil))
    var entries: [(path: String, size: Int, used: Int)] = []
    for name in names {
      let path = directory + "/" + name
      var info = stat()
      guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
      let used = Int(info.st_mtim.tv_sec)
      if name.hasPrefix(".tmp-") {
        if now - used > Self.abandonedAfterSeconds { unlink(path) }
        continue
      }
      entries.append((path, Int(info.st_size), used))
    }
    var total = entries.reduce(0) { $0 + $1.size }
    for entry in entries.sorted(by: { $0.used < $1.used }) where total > byteLimit {
      if unlink(entry.path) == 0 || errno == ENOENT { total -= entry.size }
    }
  }
}

/// One cache file: a header that says what it is, then the answers.
///
///     "PROFSYMC" u32 version u64 checksum(FNV-1a of the rest) u64 length
///     bytes buildID, bytes producer, u32 n strings, n x bytes,
///     u32 n addresses, n x (u64 address, u32 m frames,
///       m x (u32 symbol, u32 file, i64 line, i64 column, u32 startFile, i64 startLine))
///
/// Integers little-endian, `bytes` is a u32 length and UTF-8; strings are indices
/// into the string table (file names repeat in nearly every frame).
struct SymbolCacheEntry: Equatable {
  var buildID: [UInt8]
  var producer: String
  var frames: [UInt64: [SourceFrame]]

  static let magic = Array("PROFSYMC".utf8)
  static let version: UInt32 = 1
  static let headerSize = 28

  func encoded() -> [UInt8] {
    var strings: [String] = []
    var indexOf: [String: UInt32] = [:]
    func index(_ string: String) -> UInt32 {
      if let known = indexOf[string] { return known }
      strings.append(string)
      indexOf[string] = UInt32(strings.count - 1)
      return UInt32(strings.count - 1)
    }
    var records: [UInt8] = []
    for address in frames.keys.sorted() {
      let stack = frames[address]!
      records.append(integer: address)
      records.append(integer: UInt32(stack.count))
      for frame in stack {
        records.append(integer: index(frame.symbol))
        records.append(integer: index(frame.file))
        records.append(integer: frame.line)
        records.append(integer: frame.column)
        records.append(integer: index(frame.startFile))
        records.append(integer: frame.startLine)
      }
    }
    var body: [UInt8] = []
    body.append(bytes: buildID)
    body.append(bytes: Array(producer.utf8))
    body.append(integer: UInt32(strings.count))
    for string in strings { body.append(bytes: Array(string.utf8)) }
    body.append(integer: UInt32(frames.count))
    body += records
    var entry = Self.magic
    entry.append(integer: Self.version)
    entry.append(integer: fnv1a(body))
    entry.append(integer: UInt64(body.count))
    return entry + body
  }

  /// nil for anything but a whole, intact entry of this version.
  static func decode(_ bytes: [UInt8]) -> SymbolCacheEntry? {
    guard bytes.count >= headerSize, bytes.prefix(8).elementsEqual(magic),
          bytes.integer(at: 8) as UInt32 == version,
          bytes.integer(at: 20) as UInt64 == UInt64(bytes.count - headerSize)
    else { return nil }
    let body = Array(bytes[headerSize...])
    guard fnv1a(body) == bytes.integer(at: 12) as UInt64 else { return nil }
    var reader = Reader(bytes: body)
    guard let buildID = reader.sized(), let producer = reader.sized(), let stringCount = reader.u32() else { return nil }
    var strings: [String] = []
    for _ in 0..<stringCount {
      guard let string = reader.sized() else { return nil }
      strings.append(String(decoding: string, as: UTF8.self))
    }
    func string(_ index: UInt32?) -> String? { index.flatMap { Int($0) < strings.count ? strings[Int($0)] : nil } }
    guard let addressCount = reader.u32() else { return nil }
    var frames: [UInt64: [SourceFrame]] = [:]
    for _ in 0..<addressCount {
      guard let address = reader.u64(), let frameCount = reader.u32() else { return nil }
      var stack: [SourceFrame] = []
      for _ in 0..<frameCount {
        guard let symbol = string(reader.u32()), let file = string(reader.u32()), let line = reader.u64(),
              let column = reader.u64(), let startFile = string(reader.u32()), let startLine = reader.u64()
        else { return nil }
        stack.append(SourceFrame(symbol: symbol, file: file, line: Int64(bitPattern: line), column: Int64(bitPattern: column),
                                 startFile: startFile, startLine: Int64(bitPattern: startLine)))
      }
      frames[address] = stack
    }
    guard reader.atEnd else { return nil }
    return SymbolCacheEntry(buildID: buildID, producer: String(decoding: producer, as: UTF8.self), frames: frames)
  }

  private struct Reader {
    let bytes: [UInt8]
    var offset = 0

    var atEnd: Bool { offset == bytes.count }

    mutating func u32() -> UInt32? { take(4).map { bytes.integer(at: $0) } }
    mutating func u64() -> UInt64? { take(8).map { bytes.integer(at: $0) } }

    /// A u32 length and that many bytes.
    mutating func sized() -> [UInt8]? {
      guard let count = u32(), let start = take(Int(count)) else { return nil }
      return Array(bytes[start..<start + Int(count)])
    }

    /// Where the next `count` bytes start, or nil past the end.
    private mutating func take(_ count: Int) -> Int? {
      guard count <= bytes.count - offset else { return nil }
      defer { offset += count }
      return offset
    }
  }
}

/// FNV-1a, 64 bits: catches torn and flipped bytes; the cache guards against
/// accidents, not adversaries (whoever can write it can write prof's output too).
private func fnv1a(_ bytes: [UInt8]) -> UInt64 {
  var hash: UInt64 = 0xcbf2_9ce4_8422_2325
  for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
  return hash
}

extension [UInt8] {
  fileprivate mutating func append<T: FixedWidthInteger>(integer value: T) {
    Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
  }

  fileprivate mutating func append(bytes: [UInt8]) {
    append(integer: UInt32(bytes.count))
    append(contentsOf: bytes)
  }
}
