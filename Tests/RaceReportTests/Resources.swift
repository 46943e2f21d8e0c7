import Foundation
import ProfTestSupport
import RaceReport
import Testing

/// Test data lives in the source tree (not the bundle) so that goldens can be rewritten.
enum Resources {
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Resources")
  /// The source root of the captured logs.
  static let fixtureRoot = SourcePaths(root: "/work/wt-race/fixtures/race")

  static func text(_ name: String) throws -> String {
    try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
  }

  static func log(_ name: String) throws -> TSanParser.Result {
    TSanParser.parse(try text("tsan/\(name).log"))
  }

  static func analysis(_ names: String...) throws -> RaceAnalysis {
    var combined = TSanParser.Result()
    for name in names { combined.append(try log(name)) }
    return RaceAnalysis(combined, demangler: SwiftRuntimeDemangler())
  }

  /// Compares with `golden/NAME`; PROF_UPDATE_GOLDENS=1 rewrites it instead.
  static func expectGolden(
    _ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation
  )
    throws
  {
    let mismatch = try Goldens.mismatch(actual, golden: directory.appendingPathComponent("golden/\(name)"))
    #expect(mismatch == nil, "\(mismatch ?? "")", sourceLocation: sourceLocation)
  }
}
