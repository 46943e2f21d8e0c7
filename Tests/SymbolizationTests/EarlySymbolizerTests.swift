import Foundation
import XCTest

@testable import AgentStream
@testable import Symbolization

/// llvm-symbolizer asked in the background, in batches, gives the frames it gives
/// when asked once after the recording: with the symbol cache and without.
final class EarlySymbolizerTests: XCTestCase {
  private static let library = "/lib/x86_64-linux-gnu/libc.so.6"
  private static let libraryModule = module(library, at: 0x7f00_0000_0000, size: 0x20_0000)

  /// Stacks of 16 pcs across the library's code, some repeated.
  private static let stacks: [[UInt64]] = (0..<120).map { stack in
    (0..<16).map { frame in libraryModule.start + 0x28000 + UInt64((stack * 7 + frame * 131) % 1500) * 97 }
  }

  func testLLVMSymbolizerAnswersAlikeEarlyAndAfter() throws {
    try XCTSkipUnless(FileManager.default.fileExists(atPath: Self.library))
    let llvm = try XCTUnwrap(LLVMSymbolizer.locate(), "llvm-symbolizer ships with the toolchain")
    let reference = resolve(with: CachingSymbolizer(llvm))
    XCTAssertGreaterThan(reference.filter { $0.count >= 1 && !$0[0].name.hasPrefix("[") }.count, 100, "libc's code is named")

    XCTAssertEqual(resolveEarly(llvm), reference, "--no-symbol-cache")
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let cache = SymbolCache(directory: directory.path, producer: llvm.identity)
    XCTAssertEqual(resolveEarly(PersistentSymbolizer(llvm, cache: cache)), reference, "cold cache")
    XCTAssertEqual(resolveEarly(PersistentSymbolizer(llvm, cache: cache)), reference, "warm cache")
  }

  /// The stacks' frames, the symbolizer fed as a recording decodes them, its queue
  /// drained after each flush (so that the final pass finds them answered).
  private func resolveEarly(_ base: Symbolizer) -> [[ResolvedFrame]] {
    let early = EarlySymbolizer(base)
    early.observe(.module(Self.libraryModule))
    for (number, frames) in Self.stacks.enumerated() {
      early.observe(.sample(RawSample(tid: 1, weight: 1, monotonicNanos: 0, threadCPUNanos: 0, frames: frames, truncated: false)))
      if number % 10 == 9 {
        early.observe(.stats(AgentStats()))  // a flush: its batches are queued
        early.waitForQueue()  // none skipped
      }
    }
    XCTAssertGreaterThan(early.answeredCount, 1000, "answered before the final pass")
    early.stop()
    return resolve(with: early)
  }

  private func resolve(with symbolizer: Symbolizer) -> [[ResolvedFrame]] {
    var stacks = StackSymbolizer(modules: [Self.libraryModule], hiddenModule: { _ in false })
    for stack in Self.stacks { _ = stacks.add(stack) }
    let (locations, warnings) = stacks.resolve(symbolizer: symbolizer)
    XCTAssertEqual(warnings, [])
    return locations.map(\.frames)
  }
}
