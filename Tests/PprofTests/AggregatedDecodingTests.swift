import XCTest

@testable import Pprof

/// Reports decode with `.aggregated`: the same totals per stack and labels as the
/// exact decoding, in memory that grows with distinct stacks.
final class AggregatedDecodingTests: XCTestCase {
  private func profile(_ samples: [Sample]) -> Profile {
    var profile = ProfileCodingTests.sampleProfile()
    var second = Location(id: 2)
    second.lines = [Line(functionID: 1, line: 7)]
    profile.locations.append(second)
    profile.samples = samples
    return profile
  }

  func testSamplesOfTheSameStackAndLabelsAreSummedInOrderOfFirstAppearance() throws {
    let main = Label(key: "thread_comm", value: .string("main")), io = Label(key: "thread_comm", value: .string("io"))
    let tid = Label(key: "tid", value: .number(7, unit: "")), bytes = Label(key: "size", value: .number(7, unit: "bytes"))
    let original = profile([
      Sample(locationIDs: [1, 2], values: [1, 10], labels: [main]),
      Sample(locationIDs: [2], values: [1, 10], labels: [main]),
      Sample(locationIDs: [1, 2], values: [2, 20], labels: [main]),
      Sample(locationIDs: [1, 2], values: [4, 40], labels: [io]),
      Sample(locationIDs: [1, 2], values: [8, 80], labels: [tid]),
      Sample(locationIDs: [1, 2], values: [16, 160], labels: [bytes]),
      Sample(locationIDs: [1, 2], values: [32, 320], labels: [tid]),
      Sample(locationIDs: [2], values: [64, 640], labels: [main]),
      Sample(locationIDs: [1, 2], values: [128, 1280]),
    ])
    let decoded = try ProfileDecoder.decode(ProfileEncoder.encode(original), samples: .aggregated)
    XCTAssertEqual(decoded.samples, [
      Sample(locationIDs: [1, 2], values: [3, 30], labels: [main]),
      Sample(locationIDs: [2], values: [65, 650], labels: [main]),
      Sample(locationIDs: [1, 2], values: [4, 40], labels: [io]),
      Sample(locationIDs: [1, 2], values: [40, 400], labels: [tid]),
      Sample(locationIDs: [1, 2], values: [16, 160], labels: [bytes]),
      Sample(locationIDs: [1, 2], values: [128, 1280]),
    ])
    var rest = decoded, exact = try ProfileDecoder.decode(ProfileEncoder.encode(original))
    rest.samples = []
    exact.samples = []
    XCTAssertEqual(rest, exact, "everything but the samples decodes as before")
  }

  func testAggregatedSumsSaturate() throws {
    let original = profile([Sample(locationIDs: [1], values: [.max, .min]), Sample(locationIDs: [1], values: [1, -1])])
    let decoded = try ProfileDecoder.decode(ProfileEncoder.encode(original), samples: .aggregated)
    XCTAssertEqual(decoded.samples.map(\.values), [[.max, .min]])
  }

  func testSamplesWithTheWrongValueCountStayInvalid() {
    let original = profile([Sample(locationIDs: [1], values: [1, 1]), Sample(locationIDs: [1], values: [1])])
    XCTAssertThrowsError(try ProfileDecoder.decode(ProfileEncoder.encode(original), samples: .aggregated)) { error in
      XCTAssertEqual(error as? ProfileFormatError, .invalid("sample 1 has 1 values vs. 2 types"))
    }
  }

  func testAProfileBeyondTheMemoryBudgetIsRefused() throws {
    let original = profile((0..<1000).map { Sample(locationIDs: [1], values: [$0, 0], labels: [Label(key: "n", value: .number($0, unit: ""))]) })
    let bytes = ProfileEncoder.encode(original)
    XCTAssertEqual(try ProfileDecoder.decode(bytes, samples: .aggregated, memoryBudget: 1 << 20).samples.count, 1000)
    for mode in [ProfileDecoder.Samples.exact, .aggregated] {
      XCTAssertThrowsError(try ProfileDecoder.decode(bytes, samples: mode, memoryBudget: 100_000)) { error in
        XCTAssertEqual("\(error)", "profile too large: holding it would take more than 0 MiB, prof's limit for one profile")
      }
    }
    // A thousand identical samples are one row and fit.
    let same = ProfileEncoder.encode(profile((0..<1000).map { _ in Sample(locationIDs: [1], values: [1, 0]) }))
    XCTAssertEqual(try ProfileDecoder.decode(same, samples: .aggregated, memoryBudget: 100_000).samples.count, 1)
    XCTAssertThrowsError(try ProfileDecoder.decode(same, samples: .exact, memoryBudget: 100_000))
  }

  func testConcatenatedGzipMembersAreOneStream() throws {
    let profile = ProfileCodingTests.sampleProfile()
    let bytes = ProfileEncoder.encode(profile)
    let split = bytes.count / 2
    let file = Gzip.compress(Array(bytes[..<split])) + Gzip.compress(Array(bytes[split...]))
    XCTAssertEqual(try Profile(fileBytes: file), profile)
    XCTAssertThrowsError(try Profile(fileBytes: file + [0])) { error in
      XCTAssertEqual(error as? ProfileFormatError, .malformed("bytes after the gzip stream are not another gzip member"))
    }
  }
}
