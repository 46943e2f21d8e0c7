import Foundation
import XCTest

/// The validator must reject each kind of broken trace, or the end-to-end tests prove nothing.
final class TraceValidatorTests: XCTestCase {
  private func trace(_ events: String) -> Data { Data("{\"traceEvents\":[\(events)]}".utf8) }

  func testAcceptsAWellFormedTrace() throws {
    let events = try TraceValidator.validate(trace("""
      {"ph":"M","name":"thread_name","pid":1,"tid":2,"args":{"name":"main"}},
      {"ph":"X","name":"a","pid":1,"tid":2,"ts":0.000,"dur":10.000},
      {"ph":"X","name":"b","pid":1,"tid":2,"ts":1.000,"dur":9.000},
      {"ph":"X","name":"c","pid":1,"tid":2,"ts":10.000,"dur":1.000},
      {"ph":"B","name":"s","pid":1,"tid":3,"ts":1.0},{"ph":"E","name":"s","pid":1,"tid":3,"ts":2.0},
      {"ph":"C","name":"RSS","pid":1,"tid":0,"ts":1.0,"args":{"bytes":5}}
      """))
    XCTAssertEqual(events.count, 7)
  }

  func testRejectsEachBrokenRule() {
    let broken = [
      #"{"ph":"X","name":"a","pid":1.5,"tid":2,"ts":0,"dur":1}"#,
      #"{"ph":"X","name":"a","pid":1,"tid":2,"ts":-1,"dur":1}"#,
      #"{"ph":"X","name":"a","pid":1,"tid":2,"ts":0,"dur":-1}"#,
      #"{"ph":"X","name":"a","pid":1,"tid":2,"ts":5,"dur":1},{"ph":"X","name":"b","pid":1,"tid":2,"ts":4,"dur":1}"#,
      #"{"ph":"X","name":"a","pid":1,"tid":2,"ts":0,"dur":5},{"ph":"X","name":"b","pid":1,"tid":2,"ts":4,"dur":5}"#,
      #"{"ph":"B","name":"a","pid":1,"tid":2,"ts":0}"#,
      #"{"ph":"B","name":"a","pid":1,"tid":2,"ts":0},{"ph":"E","name":"b","pid":1,"tid":2,"ts":1}"#,
      #"{"ph":"C","name":"c","pid":1,"tid":2,"ts":0,"args":{"v":"x"}}"#,
      #"{"ph":"i","name":"i","pid":1,"tid":2,"ts":0}"#,
      #"{"ph":"f","name":"f","pid":1,"tid":2,"ts":0,"id":7,"bp":"e"}"#,
      #"{"ph":"M","name":"color","pid":1,"tid":2}"#,
    ]
    for events in broken {
      XCTAssertThrowsError(try TraceValidator.validate(trace(events)), events)
    }
  }
}
