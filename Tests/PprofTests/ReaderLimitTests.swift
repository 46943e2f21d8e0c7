import Pprof
import XCTest

/// Hostile input a reader must refuse in bounded memory: gzip bombs, endless files,
/// random bytes, and address-space limits below the default budget.
final class ReaderLimitTests: XCTestCase {
  func testAGzipBombIsRefusedAtTheLimitNotAfterIt() throws {
    // 4 MiB of zeros in a few KiB: with a 1 MiB limit the output must stop at 1 MiB.
    let bomb = Gzip.compress([UInt8](repeating: 0, count: 4 << 20), level: 9)
    XCTAssertThrowsError(try Gzip.decompress(bomb, limit: 1 << 20)) { error in
      XCTAssertEqual(error as? ProfileFormatError, .tooLarge("expands beyond 1 MiB, prof's limit for one profile"))
    }
    XCTAssertEqual(try Gzip.decompress(bomb, limit: 4 << 20).count, 4 << 20, "exactly the limit is allowed")
  }

  func testTheBudgetIsHalfTheAddressSpaceLimitWhenThatIsSmaller() {
    XCTAssertEqual(ProfileDecoder.memoryBudget(forAddressSpaceLimit: nil), ProfileDecoder.defaultMemoryBudget)
    XCTAssertEqual(ProfileDecoder.memoryBudget(forAddressSpaceLimit: 300_000 << 10), 150_000 << 10)
    XCTAssertEqual(ProfileDecoder.memoryBudget(forAddressSpaceLimit: 8 << 30), ProfileDecoder.defaultMemoryBudget)
  }

  func testRandomBytesAreNotAProfileFromTheirFirstBytes() {
    // A few random starts skip a long field past 64 KiB (the check then goes on as more
    // bytes arrive); most fail in their first fields. Expected: about 6% pass.
    var passed = 0
    for _ in 0..<200 {
      var check = ProfilePrefixCheck()
      let bytes = (0..<(1 << 16)).map { _ in UInt8.random(in: 0...255) }
      if bytes[0] == 0x1f || check.problem(bytes) == nil { passed += 1 }
    }
    XCTAssertLessThan(passed, 40)
  }

  func testAProfileArrivingInPiecesIsNeverRejected() throws {
    var profile = Profile()
    profile.sampleTypes = [ValueType(type: "samples", unit: "count")]
    for (id, name) in [(UInt64(1), "main"), (2, "work")] {
      var function = Function(id: id)
      function.name = name
      profile.functions.append(function)
      var location = Location(id: id)
      location.lines = [Line(functionID: id, line: 0)]
      profile.locations.append(location)
    }
    profile.samples = [Sample(locationIDs: [2, 1], values: [3]), Sample(locationIDs: [1], values: [1])]
    for bytes in [ProfileEncoder.encode(profile), profile.gzipped()] {
      var check = ProfilePrefixCheck(limit: 1 << 20)
      for end in 1...bytes.count { XCTAssertNil(check.problem(Array(bytes[..<end])), "after \(end) bytes") }
      // The file's whole bytes decode, so the check agrees with the decoder.
      XCTAssertNoThrow(try Profile(fileBytes: bytes))
    }
  }

  func testAFieldLongerThanTheLimitEndsTheReadAtOnce() {
    // Field 2 (sample), length-delimited, 2 MiB long: cannot fit a 1 MiB limit.
    var check = ProfilePrefixCheck(limit: 1 << 20)
    XCTAssertEqual(check.problem([0x12, 0x80, 0x80, 0x80, 0x01]),
                   .notAProfile("neither gzip-compressed nor a profile.proto message (field of 2097152 bytes at byte 5 ends beyond the 1 MiB limit)"))
  }
}
