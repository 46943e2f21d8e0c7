@testable import DebugPprof
import Foundation
import Pprof
import XCTest

/// The parts of the server that need no process: requests, parameters, texts, profiles.
final class DebugPprofUnitTests: XCTestCase {
  func testARequestKeepsThePathAndTheFirstOfEachParameterDecoded() {
    let request = DebugPprofRequest(method: "GET", uri: "/debug/pprof/heap?seconds=5&debug=1&seconds=9&name=a%20b+c")
    XCTAssertEqual(request.path, "/debug/pprof/heap")
    XCTAssertEqual(request.query, ["seconds": "5", "debug": "1", "name": "a b c"])
    XCTAssertEqual(request.rawQuery, "seconds=5&debug=1&seconds=9&name=a%20b+c")
    XCTAssertEqual(DebugPprofRequest(method: "GET", uri: "/debug/pprof/").query, [:])
  }

  func testParametersRefuseWhatGoRefusesAndSayWhy() throws {
    func parameters(_ query: [String: String]) -> Parameters { Parameters(query: query, maximumSeconds: 600) }
    XCTAssertNil(try parameters([:]).seconds())
    XCTAssertEqual(try parameters(["seconds": "2.5"]).seconds(), 2.5)
    for bad in ["abc", "0", "-1", "nan", "inf", "601"] {
      XCTAssertThrowsError(try parameters(["seconds": bad]).seconds(), bad) { error in
        XCTAssertEqual((error as? Refusal)?.status, 400)
      }
    }
    XCTAssertEqual(parameters(["debug": "2"]).debug(), 2)
    XCTAssertThrowsError(try parameters(["seconds": "1", "debug": "1"]).delta()) { error in
      XCTAssertEqual((error as? Refusal)?.reason, "seconds and debug params are incompatible")
    }
    XCTAssertEqual(try parameters(["seconds": "1", "debug": "0"]).delta(), 1)
  }

  /// Go's handlers read `debug` with `strconv.Atoi` and ignore its error.
  func testDebugIsAnyIntegerAsGosAtoiReadsIt() throws {
    func debug(_ text: String) -> Int { Parameters(query: ["debug": text], maximumSeconds: 600).debug() }
    let cases: [(String, Int)] = [("", 0), ("0", 0), ("1", 1), ("2", 2), ("-1", -1), ("999", 999), ("+3", 3), ("007", 7),
                                  ("-0", 0), ("x", 0), ("1x", 0), ("1.5", 0), (" 1", 0), ("-", 0), ("+", 0),
                                  ("99999999999999999999", Int.max), ("-99999999999999999999", Int.min)]
    for (text, level) in cases { XCTAssertEqual(debug(text), level, text) }
    XCTAssertEqual(Parameters(query: [:], maximumSeconds: 600).debug(), 0)
    // With seconds, Go refuses any debug but 0, and a non-number is 0.
    XCTAssertThrowsError(try Parameters(query: ["seconds": "1", "debug": "-1"], maximumSeconds: 600).delta())
    XCTAssertEqual(try Parameters(query: ["seconds": "1", "debug": "x"], maximumSeconds: 600).delta(), 1)
  }

  /// Requests the server still holds when the program exits: 503 with its status, not "start it with prof run".
  func testRequestsAfterTheProgramExitedSayItExitedWithItsStatus() {
    let endpoints = DebugPprofEndpoints(.init(heapTracked: true), symbolizer: nil)
    endpoints.pid = getpid()
    XCTAssertEqual(endpoints.respond(to: DebugPprofRequest(method: "GET", uri: "/debug/pprof/cmdline"), cancelled: { false }).status, 200)
    endpoints.programEnded("exited (status 7)")
    for path in ["cmdline", "heap", "profile?seconds=1", "goroutine?debug=2"] {
      let answer = endpoints.respond(to: DebugPprofRequest(method: "GET", uri: "/debug/pprof/" + path), cancelled: { false })
      XCTAssertEqual(answer.status, 503, path)
      XCTAssertEqual(String(decoding: answer.body, as: UTF8.self), "the program exited (status 7); no more profiles\n", path)
      XCTAssertTrue(answer.headers.contains { $0 == ("X-Go-Pprof", "1") }, path)
    }
  }

  func testAddressesAreShownAsURLsGiveThemAndAPortInUseInOneLine() throws {
    XCTAssertEqual(DebugPprofServer.address(host: "::", port: 0), "[::]:0")
    XCTAssertEqual(DebugPprofServer.address(host: "127.0.0.1", port: 6060), "127.0.0.1:6060")
    let endpoints = DebugPprofEndpoints(.init(heapTracked: false), symbolizer: nil)
    let first = try DebugPprofServer(host: "127.0.0.1", port: 0, endpoints: endpoints)
    defer { first.shutdown(waitingUpTo: 0) }
    XCTAssertThrowsError(try DebugPprofServer(host: "127.0.0.1", port: Int(first.boundAddress.split(separator: ":")[1])!, endpoints: endpoints)) { error in
      XCTAssertEqual(String(describing: error), "cannot serve on \(first.boundAddress): Address already in use")
    }
  }

  func testErrorsCarryGosMarkerAndFilesTheirName() {
    let error = DebugPprofResponse.error(404, "Unknown profile: x")
    XCTAssertEqual(error.status, 404)
    XCTAssertTrue(error.headers.contains { $0 == ("X-Go-Pprof", "1") })
    XCTAssertEqual(error.body, Array("Unknown profile: x\n".utf8))
    let file = DebugPprofResponse.file([1, 2], named: "profile")
    XCTAssertTrue(file.headers.contains { $0 == ("Content-Disposition", "attachment; filename=\"profile\"") })
    XCTAssertTrue(file.headers.contains { $0 == ("Content-Type", "application/octet-stream") })
  }

  /// Two stacks sharing main, one twice: leaf first, as pprof stores them.
  private func countProfile() -> Profile {
    var profile = Profile()
    profile.sampleTypes = [ValueType(type: "goroutine", unit: "count")]
    profile.period = 1
    for (id, name) in [(1, "work"), (2, "main"), (3, "idle")] as [(UInt64, String)] {
      var function = Function(id: id)
      function.name = name
      function.filename = "app.swift"
      profile.functions.append(function)
      var location = Location(id: id)
      location.address = 0x1000 * id
      location.lines = [Line(functionID: id, line: Int64(id))]
      profile.locations.append(location)
    }
    profile.samples = [Sample(locationIDs: [1, 2], values: [1]), Sample(locationIDs: [3, 2], values: [1]),
                       Sample(locationIDs: [1, 2], values: [1])]
    return profile
  }

  func testDebugOneGroupsEqualStacksMostFirst() {
    XCTAssertEqual(LegacyText.counts(countProfile(), title: "goroutine profile"), """
      goroutine profile: total 3
      2 @ 0x1000 0x2000
      #\t0x1000\twork\tapp.swift:1
      #\t0x2000\tmain\tapp.swift:2

      1 @ 0x3000 0x2000
      #\t0x3000\tidle\tapp.swift:3
      #\t0x2000\tmain\tapp.swift:2


      """)
  }

  func testADeltaIsTheLaterSnapshotLessTheEarlier() throws {
    var later = countProfile()
    later.samples.append(Sample(locationIDs: [3, 2], values: [1]))
    let delta = try Profile.merged([(later, []), (countProfile().negated(), [])])
    XCTAssertEqual(delta.samples.map(\.values[0]).reduce(0, +), 1)
  }
}
