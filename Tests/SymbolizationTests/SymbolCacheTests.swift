import AgentStream
import Foundation
import XCTest

@testable import Symbolization

/// Forwards to another symbolizer and counts the addresses it was asked about.
private final class CountingSymbolizer: Symbolizer, @unchecked Sendable {  // `lock` guards `asked`
  let base: Symbolizer
  private let lock = NSLock()
  private var asked = 0

  init(_ base: Symbolizer) { self.base = base }

  var addressesAsked: Int { lock.withLock { asked } }

  func symbolize(addresses: [UInt64], inFile path: String) throws -> [[SourceFrame]] {
    lock.withLock { asked += addresses.count }
    return try base.symbolize(addresses: addresses, inFile: path)
  }
}

/// Names every address after itself: answers that show which address they are for.
private struct NamingSymbolizer: Symbolizer {
  func symbolize(addresses: [UInt64], inFile path: String) throws -> [[SourceFrame]] {
    addresses.map { [SourceFrame(symbol: "f\($0)", file: "/src/\($0 % 7).c", line: Int64($0), column: 3,
                                 startFile: "/src/\($0 % 7).c", startLine: 1),
                     SourceFrame(symbol: "caller", file: "/src/main.c", line: -1)] }
  }
}

final class SymbolCacheTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws { directory = try temporaryDirectory() }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  private func cache(limit: Int = SymbolCache.defaultByteLimit, producer: String = "test") -> SymbolCache {
    SymbolCache(directory: directory.appendingPathComponent("cache").path, producer: producer, byteLimit: limit)
  }

  private func entries(_ cache: SymbolCache) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: cache.directory)) ?? []).sorted()
  }

  /// A C program with debug info and a build ID, and the toolchain's libswiftCore.
  private func fixtureModules() throws -> [String] {
    let program = directory.appendingPathComponent("plt_calls").path
    let library = directory.appendingPathComponent("libplt.so").path
    try command("/usr/bin/env", ["clang", "-O1", "-g", "-fPIC", "-shared", "-Wl,--build-id", "-o", library, symbolsFixture("plt_lib.c")])
    try command("/usr/bin/env", ["clang", "-O1", "-g", "-Wl,--build-id", "-o", program, symbolsFixture("plt_calls.c"), library])
    let swift = URL(fileURLWithPath: try command("/usr/bin/env", ["which", "swift"]).trimmingCharacters(in: .whitespacesAndNewlines))
      .resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
    let swiftCore = swift.appendingPathComponent("lib/swift/linux/libswiftCore.so").path
    return [program, library] + (FileManager.default.fileExists(atPath: swiftCore) ? [swiftCore] : [])
  }

  /// Stacks over every function of each module (its start, and a few bytes in),
  /// as a profile's raw stacks are: leaf first, loaded at made-up addresses.
  private func fixtureProfile(_ paths: [String]) throws -> (modules: [LoadedModule], stacks: [[UInt64]]) {
    var modules: [LoadedModule] = []
    var stacks: [[UInt64]] = []
    for (index, path) in paths.enumerated() {
      let start = UInt64(index + 1) << 32
      modules.append(LoadedModule(start: start, limit: start + (1 << 31), fileOffset: 0, loadBias: start, buildID: [], path: path))
      let symbols = try command("/usr/bin/env", ["nm", "--defined-only", path])
      let functions = symbols.split(separator: "\n").compactMap { line -> UInt64? in
        let fields = line.split(separator: " ")
        guard fields.count == 3, "tTwW".contains(fields[1]) else { return nil }
        return UInt64(fields[0], radix: 16)
      }.filter { $0 > 0 }
      let sample = stride(from: 0, to: functions.count, by: max(1, functions.count / 500)).map { functions[$0] }
      for (position, function) in sample.enumerated() {
        stacks.append([start + function + UInt64(position % 3) * 4, start + sample[(position * 7) % sample.count] + 9])
      }
    }
    return (modules, stacks)
  }

  private func resolve(_ profile: (modules: [LoadedModule], stacks: [[UInt64]]), _ symbolizer: Symbolizer) -> [ResolvedLocation] {
    var stacks = StackSymbolizer(modules: profile.modules, hiddenModule: { _ in false })
    for stack in profile.stacks { _ = stacks.add(stack) }
    let (locations, warnings) = stacks.resolve(symbolizer: symbolizer)
    XCTAssertEqual(warnings, [])
    return locations
  }

  func testWarmRunReturnsExactlyWhatAColdRunReturnsWithoutAskingTheSymbolizer() throws {
    let llvm = try XCTUnwrap(LLVMSymbolizer.locate(), "llvm-symbolizer ships with the toolchain")
    let profile = try fixtureProfile(try fixtureModules())
    let cold = resolve(profile, llvm)
    XCTAssertGreaterThan(cold.count, 100)
    XCTAssertGreaterThan(cold.filter { $0.frames.contains { $0.line > 0 } }.count, 0, "debug info gives lines")

    let first = CountingSymbolizer(llvm)
    let filling = resolve(profile, PersistentSymbolizer(first, cache: cache(producer: llvm.identity)))
    XCTAssertGreaterThan(first.addressesAsked, 0)
    XCTAssertEqual(entries(cache()).count, profile.modules.count, "one entry per build ID")

    let second = CountingSymbolizer(llvm)
    let warm = resolve(profile, PersistentSymbolizer(second, cache: cache(producer: llvm.identity)))
    XCTAssertEqual(second.addressesAsked, 0, "everything came from the cache")
    for (index, location) in cold.enumerated() {
      XCTAssertEqual(filling[index].frames, location.frames, "filling run, location \(index)")
      XCTAssertEqual(warm[index].frames, location.frames, "warm run, location \(index) at \(location.address)")
    }

    let otherProducer = CountingSymbolizer(llvm)
    _ = resolve(profile, PersistentSymbolizer(otherProducer, cache: cache(producer: "another llvm-symbolizer")))
    XCTAssertEqual(otherProducer.addressesAsked, first.addressesAsked, "another symbolizer's answers are not reused")
  }

  func testEntriesRoundTripAndRejectEveryDamage() throws {
    let frames = Dictionary(uniqueKeysWithValues: try NamingSymbolizer().symbolize(addresses: Array(0..<50), inFile: "x")
      .enumerated().map { (UInt64($0.offset), $0.element) })
    let entry = SymbolCacheEntry(buildID: [1, 2, 3], producer: "p", frames: frames.merging([99: []]) { $1 })
    let bytes = entry.encoded()
    XCTAssertEqual(SymbolCacheEntry.decode(bytes), entry)
    for length in [0, 7, 27, 28, bytes.count / 2, bytes.count - 1] {
      XCTAssertNil(SymbolCacheEntry.decode(Array(bytes.prefix(length))), "truncated to \(length)")
    }
    for offset in [0, 8, 12, 20, 30, bytes.count / 2, bytes.count - 1] {
      var flipped = bytes
      flipped[offset] ^= 0x40
      XCTAssertNil(SymbolCacheEntry.decode(flipped), "byte \(offset) flipped")
    }
    XCTAssertNil(SymbolCacheEntry.decode(bytes + [0]), "trailing byte")
  }

  func testDamagedEntryIsDroppedAndRecomputed() throws {
    let binary = try fixtureModules()[0]
    let buildID = try XCTUnwrap(try ELFFile(path: binary).buildID())
    let cache = cache()
    let expected = try NamingSymbolizer().symbolize(addresses: [16, 32, 48], inFile: binary)
    _ = try PersistentSymbolizer(NamingSymbolizer(), cache: cache).symbolize(addresses: [16, 32, 48], inFile: binary)
    let entry = try XCTUnwrap(entries(cache).first)
    let path = cache.directory + "/" + entry
    XCTAssertEqual(entry, buildID.map { String(format: "%02x", $0) }.joined())

    for damage in ["truncated", "flipped", "other build"] {
      var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
      switch damage {
      case "truncated": bytes.removeLast(bytes.count / 3)
      case "flipped": bytes[bytes.count - 5] ^= 1
      default: bytes = SymbolCacheEntry(buildID: [9, 9], producer: "test", frames: [16: []]).encoded()
      }
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      XCTAssertEqual(cache.load(buildID: buildID), [:], damage)
      XCTAssertFalse(FileManager.default.fileExists(atPath: path), "\(damage): the entry is removed")
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      let counting = CountingSymbolizer(NamingSymbolizer())
      XCTAssertEqual(try PersistentSymbolizer(counting, cache: cache).symbolize(addresses: [16, 32, 48], inFile: binary), expected, damage)
      XCTAssertEqual(counting.addressesAsked, 3, "\(damage): recomputed, not trusted")
      XCTAssertEqual(cache.load(buildID: buildID).count, 3, "\(damage): rewritten whole")
    }
  }

  func testAFIFOOrOversizedFileInTheCacheIsNotRead() throws {
    let cache = cache(limit: 1000)
    try FileManager.default.createDirectory(atPath: cache.directory, withIntermediateDirectories: true)
    XCTAssertEqual(mkfifo(cache.directory + "/01", 0o600), 0)
    XCTAssertEqual(cache.load(buildID: [1]), [:], "returns at once rather than waiting for a writer")
    try Data(count: 2000).write(to: URL(fileURLWithPath: cache.directory + "/02"))
    XCTAssertEqual(cache.load(buildID: [2]), [:])
    XCTAssertFalse(FileManager.default.fileExists(atPath: cache.directory + "/02"), "dropped")
  }

  func testConcurrentWritersLeaveWholeEntriesWithRightAnswers() throws {
    let binary = try fixtureModules()[0]
    let buildID = try XCTUnwrap(try ELFFile(path: binary).buildID())
    let cache = cache()
    let writers = 6, rounds = 10, each = 20
    DispatchQueue.concurrentPerform(iterations: writers) { writer in
      for round in 0..<rounds {
        let addresses = (0..<each).map { UInt64(writer * 10_000 + round * each + $0) } + [1, 2, 3]  // and some shared
        let answers = try? PersistentSymbolizer(NamingSymbolizer(), cache: cache).symbolize(addresses: addresses, inFile: binary)
        XCTAssertEqual(answers, try? NamingSymbolizer().symbolize(addresses: addresses, inFile: binary))
        _ = cache.load(buildID: buildID)  // readers race the renames too
      }
    }
    let stored = cache.load(buildID: buildID)
    XCTAssertGreaterThanOrEqual(stored.count, each, "the last writer's answers at least")
    for (address, frames) in stored {
      XCTAssertEqual(frames, try NamingSymbolizer().symbolize(addresses: [address], inFile: binary)[0])
    }
    XCTAssertEqual(entries(cache).count, 1, "no temporary files are left behind")
  }

  func testSizeBoundEvictsLeastRecentlyUsed() throws {
    let frames = Dictionary(uniqueKeysWithValues: (0..<200).map { (UInt64($0), try! NamingSymbolizer().symbolize(addresses: [UInt64($0)], inFile: "x")[0]) })
    let entrySize = SymbolCacheEntry(buildID: [0], producer: "test", frames: frames).encoded().count
    let cache = cache(limit: entrySize * 3 + entrySize / 2)
    for id in UInt8(0)..<3 { cache.store(frames, buildID: [id]) }
    XCTAssertEqual(entries(cache), ["00", "01", "02"])
    // Oldest first by mtime: make 00 the oldest, then use it so 01 is.
    for (id, age) in [(0, 300), (1, 200), (2, 100)] {
      var times = [timeval(tv_sec: time(nil) - age, tv_usec: 0), timeval(tv_sec: time(nil) - age, tv_usec: 0)]
      XCTAssertEqual(utimes(cache.directory + "/0\(id)", &times), 0)
    }
    XCTAssertEqual(cache.load(buildID: [0]).count, 200)
    cache.store(frames, buildID: [3])
    XCTAssertEqual(entries(cache), ["00", "02", "03"], "the least recently used entry went")
    let sizes = try entries(cache).map { try FileManager.default.attributesOfItem(atPath: cache.directory + "/" + $0)[.size] as! Int }
    XCTAssertLessThanOrEqual(sizes.reduce(0, +), cache.byteLimit)

    let tiny = self.cache(limit: entrySize / 2)
    tiny.store(frames, buildID: [4])
    XCTAssertEqual(entries(tiny), [], "an entry bigger than the bound is not kept")
  }

  func testFilesWithoutBuildIDAreNotCached() throws {
    let program = directory.appendingPathComponent("no-build-id").path
    try command("/usr/bin/env", ["clang", "-O1", "-Wl,--build-id=none", "-o", program, symbolsFixture("stripped.c")])
    XCTAssertNil(try ELFFile(path: program).buildID())
    let counting = CountingSymbolizer(NamingSymbolizer())
    for _ in 0..<2 { _ = try PersistentSymbolizer(counting, cache: cache()).symbolize(addresses: [1, 2], inFile: program) }
    XCTAssertEqual(counting.addressesAsked, 4)
    XCTAssertEqual(entries(cache()), [])
  }

  func testDefaultDirectoryFollowsXDG() {
    XCTAssertEqual(SymbolCache.defaultDirectory(environment: ["XDG_CACHE_HOME": "/c", "HOME": "/h"]), "/c/prof/symbols")
    XCTAssertEqual(SymbolCache.defaultDirectory(environment: ["XDG_CACHE_HOME": "rel", "HOME": "/h"]), "/h/.cache/prof/symbols")
    XCTAssertNil(SymbolCache.defaultDirectory(environment: [:]))
  }
}
