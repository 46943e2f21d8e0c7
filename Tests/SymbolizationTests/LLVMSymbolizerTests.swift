import Foundation
import XCTest

@testable import Symbolization

/// Symbolizes a C program compiled here with known lines and an inlined call.
final class LLVMSymbolizerTests: XCTestCase {
  private static let source = """
    volatile int sink;
    static inline __attribute__((always_inline)) int inner(int x) {
      sink = x;
      return sink * 3;
    }
    __attribute__((noinline)) int outer(int x) {
      return inner(x) + 2;
    }
    int main(int argc, char **argv) { return outer(argc); }
    """

  func testNamesLinesAndInlinedFrames() throws {
    let symbolizer = try XCTUnwrap(LLVMSymbolizer.locate(), "llvm-symbolizer ships with the toolchain")
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let source = directory.appendingPathComponent("inline.c")
    let binary = directory.appendingPathComponent("inline")
    try Self.source.write(to: source, atomically: true, encoding: .utf8)
    try command("/usr/bin/env", ["clang", "-O2", "-g", "-o", binary.path, source.path])

    let symbols = try command("/usr/bin/env", ["nm", binary.path])
    let line = try XCTUnwrap(symbols.split(separator: "\n").first { $0.hasSuffix(" T outer") })
    let outer = try XCTUnwrap(UInt64(line.prefix { $0 != " " }, radix: 16))

    let frames = try symbolizer.symbolize(addresses: [outer, 0xdead_beef_0000], inFile: binary.path)
    XCTAssertEqual(frames.count, 2)
    let first = try XCTUnwrap(frames[0].last)
    XCTAssertEqual(first.symbol, "outer")
    XCTAssertTrue(first.file.hasSuffix("inline.c"))
    XCTAssertEqual(first.startLine, 6)
    XCTAssertTrue(frames[1].allSatisfy { $0.line == 0 }, "an address outside the file has no line")

    // Somewhere inside outer, an address resolves to inner inlined into outer.
    let inlined = try symbolizer.symbolize(addresses: (0..<16).map { outer + $0 }, inFile: binary.path)
    let chain = try XCTUnwrap(inlined.first { $0.count == 2 }, "no inlined frame found in \(inlined)")
    XCTAssertEqual(chain.map(\.symbol), ["inner", "outer"])
    XCTAssertTrue((3...4).contains(chain[0].line), "\(chain)")
    XCTAssertEqual(chain[1].line, 7)
  }

  func testMissingFileIsAnError() throws {
    let symbolizer = try XCTUnwrap(LLVMSymbolizer.locate())
    XCTAssertThrowsError(try symbolizer.symbolize(addresses: [1], inFile: "/nonexistent/binary"))
  }
}
