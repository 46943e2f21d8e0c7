import AgentStream
import XCTest

@testable import Symbolization

/// Answers from a table keyed by file address.
private struct TableSymbolizer: Symbolizer {
  var table: [UInt64: [SourceFrame]]

  func symbolize(addresses: [UInt64], inFile path: String) throws -> [[SourceFrame]] {
    if path.hasSuffix("missing") { throw SymbolizerError("no such file") }
    return addresses.map { table[$0] ?? [] }
  }
}

final class StackSymbolizerTests: XCTestCase {
  private let main = module("/app/main", at: 0x10000)
  private let agent = module("/app/libProfAgent.so", at: 0x30000, size: 0x1000)
  private let missing = module("/gone/missing", at: 0x50000, size: 0x1000)

  func testOneLocationPerPcWithReadableNamesInlinedFramesInnermostFirst() {
    var stacks = StackSymbolizer(modules: [main, agent, main, missing], hiddenModule: StackSymbolizer.isAgent)
    XCTAssertEqual(stacks.modules.map(\.path), ["/app/main", "/app/libProfAgent.so", "/gone/missing"])
    let first = stacks.add([0x10100, 0x30010, 0x10200])
    let second = stacks.add([0x10200, 0x10200, 0x50010])
    XCTAssertEqual(first, [0, 1], "the agent's frame is dropped; a caller is stepped back into its call")
    XCTAssertEqual(second, [2, 1, 3], "the leaf pc 0x10200 is exact, the return address 0x10200 is not")

    let symbolizer = TableSymbolizer(table: [
      0x100: [SourceFrame(symbol: "$s4main3hotyyF", file: "main.swift", line: 4)],
      0x1ff: [SourceFrame(symbol: "$s4main5inneryyF", file: "main.swift", line: 9),
              SourceFrame(symbol: "_ZN3foo3barEi", file: "foo.cpp", line: 20)],
    ])
    let (locations, warnings) = stacks.resolve(symbolizer: symbolizer)
    XCTAssertEqual(warnings, ["/gone/missing: no such file"])
    XCTAssertEqual(locations.map(\.address), [0x10100, 0x101ff, 0x10200, 0x5000f])
    XCTAssertEqual(locations.map(\.module), [0, 0, 0, 2])
    XCTAssertEqual(locations[1].frames.map(\.name), ["main.inner()", "foo::bar(int)"])
    XCTAssertEqual(locations[1].frames.map(\.systemName), ["$s4main5inneryyF", "_ZN3foo3barEi"])
    XCTAssertEqual(locations[3].frames, [], "an unreadable module leaves the address")
  }

  func testHostileModulesAndAddressesDoNotTrap() {
    let atZero = module("/app/zero", at: 0, size: 0x1000)
    var biased = module("/app/biased", at: 0x2000, size: 0x1000)
    biased.loadBias = 0x5000
    var stacks = StackSymbolizer(modules: [atZero, biased], hiddenModule: { _ in false })
    XCTAssertEqual(stacks.add([0x2000, 0x0, 0x2000]).count, 3)
    XCTAssertEqual(stacks.resolve(symbolizer: TableSymbolizer(table: [:])).locations.count, 3)
  }

  func testPLTStubTargetsAreDemangled() {
    XCTAssertEqual(ResolvedFrame.pltStub("$s4spin7hotLoopys6UInt64VSiF@plt"),
                   ResolvedFrame(name: "spin.hotLoop(Swift.Int)@plt", systemName: "$s4spin7hotLoopys6UInt64VSiF@plt"))
    XCTAssertEqual(ResolvedFrame.pltStub("strlen@plt").name, "strlen@plt")
    XCTAssertEqual(ResolvedFrame.pltStub(".plt").name, ".plt")
  }

  func testCallersOutsideMappedCodeAreDroppedAndCounted() {
    var stacks = StackSymbolizer(modules: [main], hiddenModule: { _ in false })
    XCTAssertEqual(stacks.add([0x10100, 0x7fff_ffff_ffff_ffff, 0x10200, 0x8]), [0, 1])
    XCTAssertEqual(stacks.add([0x10100, 0x10200]), [0, 1])
    XCTAssertEqual(stacks.stacksWithUnmappedFrames, 1)
    XCTAssertEqual(stacks.add([0x8, 0x10200]), [2, 1], "the leaf is where the CPU was, in a known module or not")
    XCTAssertEqual(stacks.stacksWithUnmappedFrames, 1)
    let locations = stacks.resolve(symbolizer: TableSymbolizer(table: [:])).locations
    XCTAssertEqual(locations[2].address, 0x8)
    XCTAssertNil(locations[2].module)
    XCTAssertEqual(locations[2].frames, [])
  }
}

/// A file comes from debug info only, never from a symbol table's file symbol.
final class ResolvedFrameFileTests: XCTestCase {
  private func resolve(_ frame: SourceFrame) -> ResolvedFrame {
    var stacks = StackSymbolizer(modules: [module("/app/main", at: 0x1000)], hiddenModule: { _ in false })
    _ = stacks.add([0x1100])
    return stacks.resolve(symbolizer: TableSymbolizer(table: [0x100: [frame]])).locations[0].frames[0]
  }

  func testALineTableLineKeepsItsFile() {
    let frame = resolve(SourceFrame(symbol: "hot", file: "main.c", line: 7, column: 3, startFile: "main.c", startLine: 5))
    XCTAssertEqual(frame, ResolvedFrame(name: "hot", systemName: "hot", file: "main.c", line: 7, column: 3, startLine: 5))
  }

  func testTheSymbolTablesFileSymbolIsDropped() {
    // llvm-symbolizer's answer for a libswiftCore function without line tables.
    let frame = resolve(SourceFrame(symbol: "$s4spin7hotLoopys6UInt64VSiF", file: "Swift.o"))
    XCTAssertEqual(frame.file, "")
    XCTAssertEqual(frame.name, "spin.hotLoop(Swift.Int)")
  }

  func testLineZeroInsideADescribedFunctionGetsTheFunctionsFile() {
    // Compiler-generated code: the line table says line 0 (and the file of whatever was inlined).
    let frame = resolve(SourceFrame(symbol: "hot", file: "/<compiler-generated>", line: 0, startFile: "main.swift", startLine: 6))
    XCTAssertEqual(frame, ResolvedFrame(name: "hot", systemName: "hot", file: "main.swift", line: 0, startLine: 6))
  }
}
