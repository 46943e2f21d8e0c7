import Foundation
import ProfTestSupport
import TargetLaunch
import XCTest

/// prof_env.h and AgentEnvironment are the two sides of one contract.
final class AgentEnvironmentTests: XCTestCase {
  private let header = ProfHarness.packageRoot.appendingPathComponent("Sources/Agent/format/include/prof_env.h")

  func testTheSwiftMirrorNamesTheHeadersVariables() throws {
    let text = try String(contentsOf: header, encoding: .utf8)
    // #define PROF_ENV_HZ "PROF_HZ"  // meaning
    let definitions = try Regex(#"#define (PROF_ENV_\w+) "(\w+)"\s*// \S"#)
    var names: [String: String] = [:]
    for match in text.matches(of: definitions) {
      names[String(match.output[1].substring!)] = String(match.output[2].substring!)
    }
    XCTAssertEqual(Set(names.values), Set(AgentEnvironment.allCases.map(\.name)), "prof_env.h vs AgentEnvironment")
    XCTAssertEqual(names.count, AgentEnvironment.allCases.count, "each variable defined once, with its meaning")

    // PROF_ENV_ALL, which the agent scrubs from unfollowed children, lists every one.
    let all = try XCTUnwrap(text.range(of: "#define PROF_ENV_ALL").map { text[$0.upperBound...] })
    let listed = Set(all.matches(of: try Regex(#"PROF_ENV_\w+"#)).map { String(all[$0.range]) })
    XCTAssertEqual(listed, Set(names.keys))
  }
}
