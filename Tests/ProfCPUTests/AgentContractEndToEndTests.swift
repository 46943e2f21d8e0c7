import Foundation
import ProfTestSupport
import XCTest

/// prof against agents of other stream versions: fixtures/agent/other_version.c,
/// preloaded through PROF_AGENT_LIBRARY in place of prof's own agent.
final class AgentContractEndToEndTests: OutputDirectoryTestCase {
  private func agent(version: Int) throws -> String {
    let root = ProfHarness.packageRoot
    let library = output("agent-v\(version).so")
    let build = try ProfHarness.run("/usr/bin/env", [
      "clang", "-shared", "-fPIC", "-DSTREAM_VERSION=\(version)",
      "-I", root.appendingPathComponent("Sources/Agent/format/include").path,
      "-o", library, root.appendingPathComponent("fixtures/agent/other_version.c").path,
    ])
    guard build.status == 0 else { throw HarnessError("clang other_version.c failed:\n\(build.stderr)") }
    return library
  }

  private func lines(_ text: String, containing part: String) -> [Substring] {
    text.split(separator: "\n").filter { $0.contains(part) }
  }

  func testANewerAgentsStreamIsReadAndItsUnknownRecordsAreNamedOnce() throws {
    let file = output("newer.pb.gz")
    let run = try ProfHarness.prof(["cpu", "-o", file, "--", "/bin/true"],
                                   environment: ["PROF_AGENT_LIBRARY": try agent(version: 3)])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertEqual(lines(run.stderr, containing: "skipped"),
                   ["prof: skipped agent records this prof does not know (2 of type 200): the agent is newer than prof"])
    XCTAssertTrue(lines(run.stderr, containing: "the agent sent nothing").isEmpty, run.stderr)
    XCTAssertEqual(try ProfHarness.pprof(["-raw", file]).status, 0)
  }

  func testAStaleAgentIsNamedInOneLine() throws {
    let run = try ProfHarness.prof(["cpu", "-o", output("stale.pb.gz"), "--", "/bin/true"],
                                   environment: ["PROF_AGENT_LIBRARY": try agent(version: 1)])
    XCTAssertEqual(lines(run.stderr, containing: "agent"), [
      "prof: the agent speaks stream version 1, older than the 2 this prof reads: its library is a stale build "
        + "(PROF_AGENT_LIBRARY?); build prof and its agent together",
    ])
  }
}
