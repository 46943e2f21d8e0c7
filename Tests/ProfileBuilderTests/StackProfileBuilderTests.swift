import AgentStream
import Pprof
import Symbolization
import XCTest

@testable import ProfileBuilder

/// Answers from a table keyed by file address, and remembers what it was asked.
private final class FakeSymbolizer: Symbolizer {
  var table: [UInt64: [SourceFrame]] = [:]
  var requests: [(path: String, addresses: [UInt64])] = []

  func symbolize(addresses: [UInt64], inFile path: String) throws -> [[SourceFrame]] {
    requests.append((path, addresses))
    if path.hasSuffix("missing") { throw SymbolizerError("no such file") }
    return addresses.map { table[$0] ?? [] }
  }
}

final class StackProfileBuilderTests: XCTestCase {
  private let main = LoadedModule(start: 0x10000, limit: 0x20000, fileOffset: 0, loadBias: 0x10000,
                                  buildID: [1], path: "/app/main")
  private let agent = LoadedModule(start: 0x30000, limit: 0x31000, fileOffset: 0, loadBias: 0x30000,
                                   buildID: [], path: "/app/libProfAgent.so")

  private func build(_ stacks: [[UInt64]], symbolizer: FakeSymbolizer) -> (Profile, [String]) {
    var builder = StackProfileBuilder(modules: [main, agent, main]) { $0.path.hasSuffix("libProfAgent.so") }
    for stack in stacks { builder.add(stack: stack, values: [1], labels: []) }
    var profile = Profile()
    profile.sampleTypes = [ValueType(type: "samples", unit: "count")]
    let warnings = builder.build(into: &profile, symbolizer: symbolizer)
    return (profile, warnings)
  }

  func testCallersAreSteppedBackIntoTheCallAndAgentFramesVanish() throws {
    let symbolizer = FakeSymbolizer()
    symbolizer.table[0x100] = [SourceFrame(symbol: "$s4main3hotyyF", file: "main.swift", line: 4)]
    symbolizer.table[0x1ff] = [
      SourceFrame(symbol: "$s4main5inneryyF", file: "main.swift", line: 9),
      SourceFrame(symbol: "$s4main5outeryyF", file: "main.swift", line: 20),
    ]
    let (profile, warnings) = build([[0x10100, 0x30010, 0x10200]], symbolizer: symbolizer)
    XCTAssertEqual(warnings, [])
    XCTAssertEqual(symbolizer.requests.map(\.addresses), [[0x100, 0x1ff]])
    XCTAssertEqual(profile.samples[0].locationIDs.count, 2, "the agent's frame is dropped")
    XCTAssertEqual(profile.locations.map(\.address), [0x10100, 0x101ff])
    XCTAssertEqual(profile.functions.map(\.name), ["main.hot()", "main.inner()", "main.outer()"])
    XCTAssertEqual(profile.functions.map(\.systemName), ["$s4main3hotyyF", "$s4main5inneryyF", "$s4main5outeryyF"])
    XCTAssertEqual(profile.locations[1].lines.map(\.line), [9, 20], "innermost inlined frame first")
    XCTAssertEqual(profile.mappings.count, 2, "duplicate module records collapse")
    let mapping = profile.mappings[0]
    XCTAssertEqual(mapping.filename, "/app/main")
    XCTAssertEqual(mapping.buildID, "01")
    XCTAssertTrue(mapping.hasFunctions && mapping.hasFilenames && mapping.hasLineNumbers && mapping.hasInlineFrames)
    XCTAssertNoThrow(try profile.validate())
  }

  func testCodeWithoutSymbolsIsOneFunctionPerModuleAndLeavesTheFlagsFalse() throws {
    let (profile, _) = build([[0x10100, 0x10200, 0x10300]], symbolizer: FakeSymbolizer())
    XCTAssertEqual(profile.functions.map(\.name), ["[main]"], "one row per module, not one per address")
    XCTAssertEqual(profile.locations.map(\.address), [0x10100, 0x101ff, 0x102ff], "addresses stay for -addresses")
    let mapping = profile.mappings[0]
    XCTAssertFalse(mapping.hasFunctions || mapping.hasFilenames || mapping.hasLineNumbers || mapping.hasInlineFrames,
                   "pprof may still symbolize the mapping from an unstripped copy")
    XCTAssertEqual(profile.locations[0].mappingID, 1)
    XCTAssertNoThrow(try profile.validate())
  }

  func testUnsymbolizableModuleIsReportedNotFatal() {
    let missing = LoadedModule(start: 0x50000, limit: 0x51000, fileOffset: 0, loadBias: 0x50000, buildID: [],
                               path: "/gone/missing")
    var builder = StackProfileBuilder(modules: [missing]) { _ in false }
    builder.add(stack: [0x50010], values: [1], labels: [])
    var profile = Profile()
    profile.sampleTypes = [ValueType(type: "samples", unit: "count")]
    let warnings = builder.build(into: &profile, symbolizer: FakeSymbolizer())
    XCTAssertEqual(warnings, ["/gone/missing: no such file"])
    XCTAssertEqual(profile.locations.count, 1)
    XCTAssertNoThrow(try profile.validate())
  }

  func testFramesOutsideMappedCodeAreDroppedAndCountedInAComment() throws {
    let (profile, _) = build([[0x10100, 0x7fff_ffff_ffff_ffff, 0x10200], [0x10100]], symbolizer: FakeSymbolizer())
    XCTAssertEqual(profile.samples.map(\.locationIDs.count), [2, 1])
    XCTAssertEqual(profile.comments.filter { $0.contains("outside mapped executable code") }.count, 1)
    XCTAssertTrue(profile.comments.contains { $0.hasPrefix("prof: 1 distinct stacks") }, "\(profile.comments)")
  }

  func testSyntheticFramesAreRealLocations() throws {
    var builder = StackProfileBuilder(modules: [main]) { _ in false }
    builder.add(stack: [0x10100], values: [1], labels: [], syntheticRoot: "[truncated stack]")
    builder.addSynthetic(frame: "[dropped samples]", values: [4])
    var profile = Profile()
    profile.sampleTypes = [ValueType(type: "samples", unit: "count")]
    _ = builder.build(into: &profile, symbolizer: nil)
    XCTAssertNoThrow(try profile.validate())
    let names = profile.samples.map { sample in
      sample.locationIDs.map { id in
        profile.locations.first { $0.id == id }!.lines.first.map { line in
          profile.functions.first { $0.id == line.functionID }!.name
        } ?? "?"
      }
    }
    XCTAssertEqual(names, [["?", "[truncated stack]"], ["[dropped samples]"]])
  }
}
