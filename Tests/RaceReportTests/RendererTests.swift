import Foundation
import RaceTestSupport
import Testing

@testable import RaceReport

@Suite struct RendererTests {
  let everything = { try Resources.analysis("counter", "property", "tasks", "leak", "counter") }

  @Test func text() throws {
    let text = TextRenderer(paths: Resources.fixtureRoot).render(try everything())
    try Resources.expectGolden(text, "all.txt")
  }

  @Test func textWhenClean() {
    let clean = RaceAnalysis(TSanParser.Result(), demangler: SwiftRuntimeDemangler())
    #expect(
      TextRenderer(paths: Resources.fixtureRoot).render(clean)
        == "prof race: no ThreadSanitizer reports\n")
  }

  @Test func otherKinds() throws {
    let analysis = try Resources.analysis("lock-order-inversion", "signal-unsafe")
    try Resources.expectGolden(
      TextRenderer(paths: SourcePaths(root: "/src/app")).render(analysis), "other-kinds.txt")
  }

  @Test func json() throws {
    let json = String(decoding: try JSONRenderer.render(try everything()), as: UTF8.self)
    try Resources.expectGolden(json, "all.json")
  }

  @Test func sarif() throws {
    let sarif = SARIFRenderer(paths: Resources.fixtureRoot, toolVersion: "0.1.0")
    let data = try sarif.render(try everything())
    try Resources.expectGolden(String(decoding: data, as: UTF8.self), "all.sarif")
    try SchemaValidator.validateSARIF(data)
  }

  @Test func sarifOfOtherKinds() throws {
    let sarif = SARIFRenderer(paths: SourcePaths(root: "/src/app"), toolVersion: "0.1.0")
    try SchemaValidator.validateSARIF(
      try sarif.render(try Resources.analysis("lock-order-inversion", "signal-unsafe")))
  }
}
