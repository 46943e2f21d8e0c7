import FlameGraph
import Foundation
import FoundationXML
import Pprof
import ProfTestSupport
import ProfileReports
import XCTest

final class FlameGraphTests: XCTestCase {
  /// Frames of a rendered graph as read back by an XML parser.
  private struct ParsedFrame {
    var name: String
    var title: String
    var x, y, width: Double
    var fill: String
  }

  private final class FrameCollector: NSObject, XMLParserDelegate {
    var frames: [ParsedFrame] = []
    var rects = 0
    private var inTitle = false

    func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
      switch element {
      case "g" where attributes["class"] == "f":
        frames.append(ParsedFrame(name: attributes["data-name"] ?? "", title: "", x: 0, y: 0, width: 0, fill: ""))
      case "title" where !frames.isEmpty: inTitle = true
      case "rect" where !frames.isEmpty:
        rects += 1
        frames[frames.count - 1].x = Double(attributes["x"] ?? "") ?? -1
        frames[frames.count - 1].y = Double(attributes["y"] ?? "") ?? -1
        frames[frames.count - 1].width = Double(attributes["width"] ?? "") ?? -1
        frames[frames.count - 1].fill = attributes["fill"] ?? ""
      default: break
      }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
      if inTitle { frames[frames.count - 1].title += string }
    }

    func parser(_ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?) {
      if element == "title" { inTitle = false }
    }
  }

  private func parse(_ svg: String) throws -> FrameCollector {
    let parser = XMLParser(data: Data(svg.utf8))
    let collector = FrameCollector()
    parser.delegate = collector
    XCTAssertTrue(parser.parse(), "not well-formed XML: \(String(describing: parser.parserError))")
    return collector
  }

  private func graph(_ profile: Profile, icicle: Bool = false, base: Profile? = nil) -> String {
    let stacks = CallStacks(profile)
    var track = FlameGraph.Track(label: "all", tree: CallTree(profile, stacks, valueIndex: 0))
    if let base {
      let baseTree = CallTree(base, CallStacks(base), valueIndex: 0)
      let ratio = Double(track.tree.root.total) / Double(baseTree.root.total)
      track.baseValues = track.tree.totals(ofSamePathsIn: baseTree).map { Double($0) * ratio }
    }
    var options = FlameGraph.Options()
    options.icicle = icicle
    options.title = "<demo & \"test\">"
    return FlameGraph(tracks: [track], options: options).svg()
  }

  func testOneRectPerFrameWithWidthsProportionalToCounts() throws {
    let profile = ProfileFixtures.cpu([(["main", "a", "x"], 60), (["main", "b"], 30), (["main"], 10), (["main", "a"], 1)])
    let frames = try parse(graph(profile)).frames
    XCTAssertEqual(frames.map(\.name), ["all", "main", "a", "x", "b"], "depth first, children by name")
    XCTAssertEqual(try parse(graph(profile)).rects, 5)
    let full = frames[0].width
    XCTAssertEqual(full, 1180, accuracy: 0.01)
    let expected: [String: Double] = ["all": 101, "main": 101, "a": 61, "x": 60, "b": 30]
    for frame in frames {
      XCTAssertEqual(frame.width / full, expected[frame.name]! / 101, accuracy: 0.0001, frame.name)
    }
    let b = frames.first { $0.name == "b" }!, a = frames.first { $0.name == "a" }!
    XCTAssertEqual(b.x, a.x + a.width, accuracy: 0.01, "siblings are side by side")
    XCTAssertEqual(a.title, "a (61 samples, 60.40%)")
  }

  func testFramesNarrowerThanATenthOfAPixelAreLeftOut() throws {
    let profile = ProfileFixtures.cpu([(["main", "big"], 100_000), (["main", "tiny", "deeper"], 1)])
    let names = try parse(graph(profile)).frames.map(\.name)
    XCTAssertEqual(names, ["all", "main", "big"])
  }

  func testIcicleDrawsRootsOnTop() throws {
    let profile = ProfileFixtures.cpu([(["main", "a"], 1)])
    let flame = try parse(graph(profile)).frames, icicle = try parse(graph(profile, icicle: true)).frames
    XCTAssertGreaterThan(flame[0].y, flame[2].y, "flame: the root is at the bottom")
    XCTAssertLessThan(icicle[0].y, icicle[2].y, "icicle: the root is at the top")
  }

  func testNamesAreEscaped() throws {
    let profile = ProfileFixtures.cpu([(["Swift.Array<Int>.f(_: \"a\" & b)"], 1)])
    let svg = graph(profile)
    let frames = try parse(svg).frames
    XCTAssertEqual(frames.last?.name, "Swift.Array<Int>.f(_: \"a\" & b)")
    XCTAssertTrue(svg.contains("&lt;demo &amp; &quot;test&quot;&gt;"))
  }

  func testDifferentialColoursGrowthRedAndShrinkageBlue() throws {
    let base = ProfileFixtures.cpu([(["main", "grew"], 10), (["main", "shrank"], 30), (["main", "same"], 60)])
    // Twice as many samples overall: normalised, "same" did not change.
    let new = ProfileFixtures.cpu([(["main", "grew"], 60), (["main", "shrank"], 20), (["main", "same"], 120)])
    let frames = try parse(graph(new, base: base)).frames
    func fill(_ name: String) -> String { frames.first { $0.name == name }!.fill }
    XCTAssertEqual(fill("grew"), "rgb(255,45,45)", "the largest growth is the strongest red")
    XCTAssertTrue(fill("shrank").hasSuffix(",255)") && fill("shrank") != "rgb(255,255,255)", fill("shrank"))
    XCTAssertEqual(fill("same"), "rgb(255,255,255)")
    XCTAssertEqual(frames.first { $0.name == "grew" }!.title, "grew (60 samples, 30.00%; +40 samples vs. base, +200.0%)")
  }
}
