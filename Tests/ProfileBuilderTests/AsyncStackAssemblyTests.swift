import AgentStream
import Pprof
@testable import Symbolization
import XCTest

@testable import ProfileBuilder

/// Resolves a fixed table of file addresses (the mangled names are real ones from
/// fixtures/async/nested.swift built with -O).
private struct TableSymbolizer: Symbolizer {
  var table: [UInt64: String]

  func symbolize(addresses: [UInt64], inFile path: String) throws -> [[SourceFrame]] {
    addresses.map { address in table[address].map { [SourceFrame(symbol: $0, file: "nested.swift", line: 1)] } ?? [] }
  }
}

final class AsyncStackAssemblyTests: XCTestCase {
  private let module = LoadedModule(start: 0x10000, limit: 0x20000, fileOffset: 0, loadBias: 0x10000,
                                    buildID: [1], path: "/app/nested")
  // Physical frames are return addresses (looked up one byte back); resume functions are entries.
  private let symbolizer = TableSymbolizer(table: [
    0x100: "$s4main4burnyS2iF",
    0x1ff: "$s4main8leafWorkyS2iYaFTY1_",
    0x2ff: "$ss13_runJobOnExecutoryyF",  // stands for the executor: not async
    0x300: "$s4main6middleyS2iYaFTQ1_",
    0x310: "$s4main13handleRequestyS2iYaFTQ1_",
    0x320: "$s4main6NestedVAAyyYaFZSiScGySiGzYaXEfU_SiyYacfU_TATQ0_",  // partial apply forwarder: glue
    0x330: "$s4main6NestedVAAyyYaFZSiScGySiGzYaXEfU_SiyYacfU_TQ0_",
    0x340: "completeTaskWithClosure",
    0x400: "$s4main4spinyS2iF",  // a sync function: its "chain" is not a context's
    0x500: "$s4main8leafWorkyS2iYaF",  // leafWork's entry: the same function as its partials
    0x510: "$sScTss5NeverORszABRs_rlE5yieldyyYaFZTQ1_",  // Task.yield's resume partial
    0x520: "$s4main8leafWorkyS2iYaFTY1_",
  ])

  private var symbolizerOverride: TableSymbolizer?

  private func functions(of chains: [AsyncChain]) throws -> [String] {
    let symbolizer = symbolizerOverride ?? self.symbolizer
    var builder = StackProfileBuilder(modules: [module]) { _ in false }
    builder.add(stack: [0x10100, 0x10200, 0x10300], values: [1], labels: [], asyncChains: chains)
    var profile = Profile()
    profile.sampleTypes = [ValueType(type: "samples", unit: "count")]
    XCTAssertEqual(builder.build(into: &profile, symbolizer: symbolizer), [])
    XCTAssertNoThrow(try profile.validate())
    let locations = Dictionary(uniqueKeysWithValues: profile.locations.map { ($0.id, $0) })
    XCTAssertEqual(Set(locations.keys), Set(profile.samples.flatMap(\.locationIDs)), "no unused locations")
    return try profile.samples[0].locationIDs.map { id in
      let line = try XCTUnwrap(locations[id]?.lines.last)
      return profile.functions[Int(line.functionID) - 1].systemName
    }
  }

  private let chain: [UInt64] = [0x10300, 0x10310, 0x10320, 0x10330, 0x10340]

  func testTheChainGoesAfterTheAsyncFrameWithoutGlueAndStopsAtTheRuntime() throws {
    let names = try functions(of: [AsyncChain(frame: 0, source: .register, resumeFunctions: chain, reachedEntry: true)])
    XCTAssertEqual(names, [
      "$s4main4burnyS2iF", "$s4main8leafWorkyS2iYaFTY1_",
      "$s4main6middleyS2iYaFTQ1_", "$s4main13handleRequestyS2iYaFTQ1_",
      "$s4main6NestedVAAyyYaFZSiScGySiGzYaXEfU_SiyYacfU_TQ0_",
      "$ss13_runJobOnExecutoryyF",
    ])
  }

  func testACandidateWhoseChainIsNotAsyncIsIgnoredForTheFrameSlotOrRegisterThatIs() throws {
    let bogus = AsyncChain(frame: 1, source: .frameSlot, resumeFunctions: [0x10400, 0x10310], reachedEntry: false)
    let register = AsyncChain(frame: 0, source: .register, resumeFunctions: chain, reachedEntry: true)
    XCTAssertEqual(try functions(of: [bogus, register]).count, 6, "the register's chain")
    XCTAssertEqual(try functions(of: [bogus]).count, 3, "no chain: the machine stack alone")
    let pastTheAsyncFrame = AsyncChain(frame: 2, source: .register, resumeFunctions: chain, reachedEntry: true)
    XCTAssertEqual(try functions(of: [pastTheAsyncFrame]).count, 3, "r14 of a frame outside the async one")
  }

  func testTheReturningCalleesContextAtAnAwaitResumeEntryDoesNotRepeatTheFrame() throws {
    var symbolizer = symbolizer
    symbolizer.table[0x1ff] = "$s4main6middleyS2iYaFTQ1_"  // interrupted in middle's resume partial
    self.symbolizerOverride = symbolizer
    let names = try functions(of: [AsyncChain(frame: 0, source: .register, resumeFunctions: chain, reachedEntry: true)])
    XCTAssertEqual(names.filter { $0 == "$s4main6middleyS2iYaFTQ1_" }.count, 1)
    XCTAssertEqual(names[2], "$s4main13handleRequestyS2iYaFTQ1_")
  }

  func testAsyncFunctionsAreToldFromTheirSymbols() {
    XCTAssertTrue(AsyncStacks.isAsyncFunction("$s4main8leafWorkyS2iYaF"), "an async entry")
    XCTAssertTrue(AsyncStacks.isAsyncFunction("$s4main8leafWorkyS2iYaFTY1_"))
    XCTAssertTrue(AsyncStacks.isAsyncFunction("$s4main13handleRequestyS2iYaFTQ12_"))
    XCTAssertTrue(AsyncStacks.isAsyncFunction("$s4main6NestedVAAyyYaFZSiScGySiGzYaXEfU_SiyYacfU_"), "an async closure")
    XCTAssertFalse(AsyncStacks.isAsyncFunction("$s4main4burnyS2iF"))
    XCTAssertFalse(AsyncStacks.isAsyncFunction("$s4main6NestedVAAyyYaFZSiyXEfU_"), "a sync closure in an async function")
    XCTAssertFalse(AsyncStacks.isAsyncFunction("swift_job_run"))
  }

  func testTheTasksResumeContextGoesOnFromTheFrameWhoseFunctionItResumedOrReturnedTo() throws {
    let callers = ["$s4main6middleyS2iYaFTQ1_", "$s4main13handleRequestyS2iYaFTQ1_",
                   "$s4main6NestedVAAyyYaFZSiScGySiGzYaXEfU_SiyYacfU_TQ0_"]
    let physical = ["$s4main4burnyS2iF", "$s4main8leafWorkyS2iYaFTY1_"]
    // The job resumed leafWork itself (another of its partial functions).
    let resumedHere = AsyncChain(frame: 1, source: .task, resumeFunctions: chain, reachedEntry: true, resumedFunction: 0x10500)
    XCTAssertEqual(try functions(of: [resumedHere]), physical + callers + ["$ss13_runJobOnExecutoryyF"])
    // The job resumed Task.yield, which returned to leafWork without suspending.
    let returned = AsyncChain(frame: 1, source: .task, resumeFunctions: [0x10520] + chain, reachedEntry: true, resumedFunction: 0x10510)
    XCTAssertEqual(try functions(of: [returned]), physical + callers + ["$ss13_runJobOnExecutoryyF"])
    // The job resumed middle, which called leafWork without suspending: leafWork is not on that chain.
    let deeper = AsyncChain(frame: 1, source: .task, resumeFunctions: Array(chain.dropFirst()), reachedEntry: true, resumedFunction: 0x10300)
    XCTAssertEqual(try functions(of: [deeper]), physical + ["$ss13_runJobOnExecutoryyF"])
    // A frame slot or r14 that leads somewhere comes first.
    let register = AsyncChain(frame: 0, source: .register, resumeFunctions: chain, reachedEntry: true)
    XCTAssertEqual(try functions(of: [deeper, register]), physical + callers + ["$ss13_runJobOnExecutoryyF"])
  }
}
