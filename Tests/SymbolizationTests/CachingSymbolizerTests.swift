import XCTest

@testable import Symbolization

/// Answers from a table and records every question.
private final class CountingSymbolizer: Symbolizer {
  var requests: [(path: String, addresses: [UInt64])] = []

  func symbolize(addresses: [UInt64], inFile path: String) throws -> [[SourceFrame]] {
    requests.append((path, addresses))
    if path == "missing" { throw SymbolizerError("no such file") }
    return addresses.map { [SourceFrame(symbol: "f\($0)", file: path)] }
  }
}

/// CachingSymbolizer and EarlySymbolizer (fed nothing early) answer alike.
final class CachingSymbolizerTests: XCTestCase {
  private let caches: [(Symbolizer) -> Symbolizer] = [CachingSymbolizer.init, EarlySymbolizer.init]

  func testAsksOnlyAboutNewAddressesOfEachFile() throws {
    for makeCache in caches { try assertAsksOnlyAboutNewAddresses(makeCache) }
  }

  func testFailuresAreNotRemembered() {
    for makeCache in caches {
      let base = CountingSymbolizer()
      let cache = makeCache(base)
      XCTAssertThrowsError(try cache.symbolize(addresses: [1], inFile: "missing"))
      XCTAssertThrowsError(try cache.symbolize(addresses: [1], inFile: "missing"))
      XCTAssertEqual(base.requests.count, 2)
    }
  }

  private func assertAsksOnlyAboutNewAddresses(_ makeCache: (Symbolizer) -> Symbolizer) throws {
    let base = CountingSymbolizer()
    let cache = makeCache(base)
    XCTAssertEqual(try cache.symbolize(addresses: [3, 1, 3], inFile: "a").map { $0[0].symbol }, ["f3", "f1", "f3"])
    XCTAssertEqual(try cache.symbolize(addresses: [1, 2], inFile: "a").map { $0[0].symbol }, ["f1", "f2"])
    XCTAssertEqual(try cache.symbolize(addresses: [1], inFile: "b").map { $0[0].file }, ["b"])
    XCTAssertEqual(try cache.symbolize(addresses: [1, 2, 3], inFile: "a").count, 3)
    XCTAssertEqual(base.requests.map(\.path), ["a", "a", "b"])
    XCTAssertEqual(base.requests.map(\.addresses), [[1, 3], [2], [1]])
  }
}
