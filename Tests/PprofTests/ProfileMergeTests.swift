import XCTest

@testable import Pprof

final class ProfileMergeTests: XCTestCase {
  private func pid(_ value: Int64) -> [Label] { [Label(key: "pid", value: .number(value, unit: ""))] }

  /// Another process's profile: its own program at other addresses, one sample.
  private func otherProcess() -> Profile {
    var profile = ProfileCodingTests.sampleProfile()
    var mapping = Mapping(id: 7)
    mapping.memoryStart = 0x5000
    mapping.memoryLimit = 0x6000
    mapping.filename = "/bin/helper"
    var function = Function(id: 9)
    function.name = "helper_spin"
    var location = Location(id: 5)
    location.mappingID = 7
    location.address = 0x5010
    location.lines = [Line(functionID: 9, line: 1)]
    profile.mappings = [mapping]
    profile.functions = [function]
    profile.locations = [location]
    profile.samples = [Sample(locationIDs: [5], values: [2, 20_000_000])]
    profile.timeNanos += 1_000_000_000
    profile.durationNanos = 3_000_000_000
    profile.comments = ["prof cpu ./demo", "helper"]
    return profile
  }

  /// The function of each sample's leaf location (its physical one: the last line).
  private func leaves(_ profile: Profile) -> [String] {
    profile.samples.map { sample in
      let location = profile.locations.first { $0.id == sample.locationIDs[0] }!
      return profile.functions.first { $0.id == location.lines.last!.functionID }!.name
    }
  }

  func testAForkedChildSharesItsParentsTablesAndEverySampleIsLabelled() throws {
    let parent = ProfileCodingTests.sampleProfile()
    let merged = try Profile.merged([(parent, pid(1)), (parent, pid(2))])
    XCTAssertEqual(merged.mappings, parent.mappings)
    XCTAssertEqual(merged.locations, parent.locations)
    XCTAssertEqual(merged.functions, parent.functions)
    XCTAssertEqual(merged.samples.map(\.labels), parent.samples.map { $0.labels + pid(1) } + parent.samples.map { $0.labels + pid(2) })
    XCTAssertEqual(merged.comments, parent.comments)
    XCTAssertEqual(try ProfileDecoder.decode(ProfileEncoder.encode(merged)), merged, "a valid profile")
  }

  func testOtherProgramsAreRenumberedAndKeepTheirFunctions() throws {
    let merged = try Profile.merged([(ProfileCodingTests.sampleProfile(), pid(1)), (otherProcess(), pid(2))])
    XCTAssertEqual(merged.mappings.map(\.id), [1, 2])
    XCTAssertEqual(merged.mappings.map(\.filename), ["/bin/demo", "/bin/helper"])
    XCTAssertEqual(merged.locations.map(\.id), [1, 2])
    XCTAssertEqual(merged.locations[1].mappingID, 2)
    XCTAssertEqual(merged.functions.map(\.id), [1, 2, 3])
    XCTAssertEqual(leaves(merged), ["demo.hot() -> ()", "demo.hot() -> ()", "helper_spin"])
    XCTAssertEqual(merged.samples.last?.labels, pid(2))
    XCTAssertEqual(merged.comments, ["prof cpu ./demo", "helper"])
    XCTAssertNoThrow(try merged.validate())
  }

  func testTheTimeSpanCoversEveryProcess() throws {
    let parent = ProfileCodingTests.sampleProfile()
    let merged = try Profile.merged([(parent, pid(1)), (otherProcess(), pid(2))])
    XCTAssertEqual(merged.timeNanos, parent.timeNanos)
    XCTAssertEqual(merged.durationNanos, 4_000_000_000, "from the parent's start to the child's end, 1 s + 3 s later")
    XCTAssertEqual(merged.period, parent.period)
  }

  func testProfilesOfDifferentSampleTypesAreRefused() {
    var heap = otherProcess()
    heap.sampleTypes = [ValueType(type: "alloc_objects", unit: "count"), ValueType(type: "alloc_space", unit: "bytes")]
    XCTAssertThrowsError(try Profile.merged([(ProfileCodingTests.sampleProfile(), []), (heap, [])])) { error in
      XCTAssertEqual(error as? ProfileFormatError, .invalid(
        "cannot merge samples of alloc_objects/count, alloc_space/bytes with samples of samples/count, cpu/nanoseconds"))
    }
  }

  func testNothingMergesIntoAnEmptyProfile() throws {
    XCTAssertEqual(try Profile.merged([]), Profile())
  }
}
