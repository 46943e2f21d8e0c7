import XCTest

@testable import Pprof

final class ProfileCodingTests: XCTestCase {
  static func sampleProfile() -> Profile {
    var profile = Profile()
    profile.sampleTypes = [ValueType(type: "samples", unit: "count"), ValueType(type: "cpu", unit: "nanoseconds")]
    profile.periodType = ValueType(type: "cpu", unit: "nanoseconds")
    profile.period = 10_000_000
    profile.timeNanos = 1_700_000_000_000_000_000
    profile.durationNanos = 2_000_000_000
    profile.comments = ["prof cpu ./demo"]
    var mapping = Mapping(id: 1)
    mapping.memoryStart = 0x1000
    mapping.memoryLimit = 0x2000
    mapping.filename = "/bin/demo"
    mapping.buildID = "abcd"
    mapping.hasFunctions = true
    mapping.hasInlineFrames = true
    profile.mappings = [mapping]
    var hot = Function(id: 1)
    hot.name = "demo.hot() -> ()"
    hot.systemName = "$s4demo3hotyyF"
    hot.filename = "main.swift"
    hot.startLine = 3
    var inlined = Function(id: 2)
    inlined.name = "demo.inner() -> ()"
    profile.functions = [hot, inlined]
    var location = Location(id: 1)
    location.mappingID = 1
    location.address = 0x1234
    location.lines = [Line(functionID: 2, line: 9, column: 4), Line(functionID: 1, line: 5)]
    profile.locations = [location]
    profile.samples = [
      Sample(locationIDs: [1], values: [3, 30_000_000],
             labels: [Label(key: "thread_comm", value: .string("main")),
                      Label(key: "tid", value: .number(42, unit: ""))]),
      Sample(locationIDs: [1, 1], values: [-1, 0]),
    ]
    return profile
  }

  func testRoundTripKeepsEveryField() throws {
    let profile = Self.sampleProfile()
    XCTAssertEqual(try ProfileDecoder.decode(ProfileEncoder.encode(profile)), profile)
  }

  func testEmptyCommentSurvivesRoundTrip() throws {
    // Found by the fuzzer: an empty comment is string index 0, which must still be written.
    var profile = Profile()
    profile.comments = ["", "second", ""]
    XCTAssertEqual(try ProfileDecoder.decode(ProfileEncoder.encode(profile)).comments, profile.comments)
  }

  func testGzipRoundTrip() throws {
    let profile = Self.sampleProfile()
    let file = profile.gzipped()
    XCTAssertTrue(Gzip.isCompressed(file))
    XCTAssertEqual(try Profile(fileBytes: file), profile)
  }

  func testStringTableStartsWithEmptyString() {
    // Field 6, length 0: the first thing written is the empty string.
    XCTAssertEqual(Array(ProfileEncoder.encode(Self.sampleProfile()).prefix(2)), [6 << 3 | 2, 0])
  }

  func testEmptyProfileIsNotAProfile() {
    XCTAssertThrowsError(try ProfileDecoder.decode([])) { error in
      XCTAssertEqual(error as? ProfileFormatError, .notAProfile("no string table"))
    }
  }

  func testTruncatedRawBytesFailCleanlyOrStayValid() throws {
    // A raw message cut at a field boundary is still a message; anywhere else it is an error.
    let bytes = ProfileEncoder.encode(Self.sampleProfile())
    var failures = 0
    for length in 1..<bytes.count {
      do {
        try ProfileDecoder.decode(Array(bytes[0..<length])).validate()
      } catch {
        failures += 1
      }
    }
    XCTAssertGreaterThan(failures, bytes.count / 2)
  }

  func testEveryTruncatedGzipFileIsAnError() {
    let file = Self.sampleProfile().gzipped()
    for length in 0..<file.count {
      XCTAssertThrowsError(try Profile(fileBytes: Array(file[0..<length])), "prefix of \(length) bytes")
    }
  }

  func testCorruptGzipIsAnError() {
    var file = Self.sampleProfile().gzipped()
    file[file.count / 2] ^= 0xff
    XCTAssertThrowsError(try Profile(fileBytes: file))
    XCTAssertThrowsError(try Profile(fileBytes: Array(file.prefix(file.count - 9)))) { error in
      XCTAssertTrue("\(error)".hasPrefix("truncated") || "\(error)".hasPrefix("malformed"), "\(error)")
    }
  }

  func testDecoderAcceptsUnpackedRepeatedFields() throws {
    var writer = ProtoWriter()
    writer.string(ProfileField.stringTable, "")
    writer.string(ProfileField.stringTable, "samples")
    writer.string(ProfileField.stringTable, "count")
    writer.message(ProfileField.sampleType) { $0.uint64(1, 1); $0.uint64(2, 2) }
    writer.message(ProfileField.location) { $0.uint64(LocationField.id, 7) }
    writer.message(ProfileField.sample) {
      $0.uint64(SampleField.locationID, 7)
      $0.uint64(SampleField.value, 5)
    }
    let profile = try ProfileDecoder.decode(writer.bytes)
    XCTAssertEqual(profile.samples, [Sample(locationIDs: [7], values: [5])])
  }

  func testValidationRejectsWhatPprofRejects() {
    var profile = Self.sampleProfile()
    profile.samples[0].values = [1]
    XCTAssertThrowsError(try profile.validate()) {
      XCTAssertEqual("\($0)", "invalid profile: sample 0 has 1 values vs. 2 types")
    }
    profile = Self.sampleProfile()
    profile.samples[0].locationIDs = [9]
    XCTAssertThrowsError(try profile.validate()) {
      XCTAssertEqual("\($0)", "invalid profile: sample 0 refers to missing location 9")
    }
    profile = Self.sampleProfile()
    profile.locations[0].lines[0].functionID = 5
    XCTAssertThrowsError(try profile.validate())
    profile = Self.sampleProfile()
    profile.functions[1].id = 1
    XCTAssertThrowsError(try profile.validate()) { XCTAssertEqual("\($0)", "invalid profile: duplicate function id 1") }
  }

  func testStringIndexOutOfRange() {
    var writer = ProtoWriter()
    writer.string(ProfileField.stringTable, "")
    writer.uint64(ProfileField.dropFrames, 3)
    XCTAssertThrowsError(try ProfileDecoder.decode(writer.bytes)) {
      XCTAssertEqual("\($0)", "invalid profile: string index 3 out of range (table has 1)")
    }
  }
}

final class IDIndexTests: XCTestCase {
  func testDenseAndSparseIdsFindTheirPositions() {
    for ids: [UInt64] in [[3, 1, 2], [1 << 40, 7, 1 << 50]] {
      let index = IDIndex(ids)
      for (position, id) in ids.enumerated() { XCTAssertEqual(index[id], position) }
      XCTAssertNil(index[4])
      XCTAssertNil(index[UInt64.max])
      XCTAssertNil(index.duplicate)
    }
    XCTAssertEqual(IDIndex([5, 6, 5]).duplicate, 5)
    XCTAssertEqual(IDIndex([1 << 40, 6, 1 << 40]).duplicate, 1 << 40)
  }

  func testRawTextIsNotAProfile() {
    XCTAssertThrowsError(try Profile(fileBytes: Array("hello\n".utf8))) {
      XCTAssertEqual("\($0)", "not a pprof profile: neither gzip-compressed nor a profile.proto message (unsupported wire type 4 at byte 3)")
    }
  }
}
