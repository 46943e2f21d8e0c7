import Pprof
import ProfileReports

/// An interactive SVG flame graph, written from scratch after the flamegraph.pl
/// idea: one rectangle per call path, as wide as its share of the samples;
/// hover for counts, click to zoom, Search to highlight. Each track is its own
/// tree (one per thread with --by-thread), drawn one above the other.
public struct FlameGraph {
  public struct Track {
    /// The root frame's label: "all", or a thread's name.
    public var label: String
    public var tree: CallTree
    /// Per node of `tree`, the value of the same path in the base profile, scaled
    /// to this profile's total: given for differential graphs.
    public var baseValues: [Double]?

    public init(label: String, tree: CallTree, baseValues: [Double]? = nil) {
      self.label = label
      self.tree = tree
      self.baseValues = baseValues
    }
  }

  public struct Options {
    public var title = "Flame Graph"
    /// Root at the top, callees below.
    public var icicle = false
    public var width = 1200.0
    public var frameHeight = 16.0
    /// Frames narrower than this many pixels are left out, with their callees.
    public var minimumWidth = 0.1
    /// Formats values in hover titles (e.g. "1.20s"); counts say "N samples".
    public var format: (Int64) -> String = { "\($0) samples" }

    public init() {}
  }

  public let tracks: [Track]
  public let options: Options

  public init(tracks: [Track], options: Options) {
    self.tracks = tracks
    self.options = options
  }

  static let fontSize = 12.0
  static let fontWidth = 0.59
  static let margin = 10.0
  static let header = 40.0
  static let footer = 28.0
  static let trackGap = 12.0

  /// The whole document.
  public func svg() -> String {
    var writer = SVGWriter()
    let layout = tracks.map { trackHeight($0) }
    let height = Self.header + layout.reduce(0, +) + Self.trackGap * Double(max(0, tracks.count - 1)) + Self.footer
    writer.open(width: options.width, height: height, title: options.title)
    let grandTotal = tracks.reduce(0) { $0 + $1.tree.root.total }
    var top = Self.header
    for (number, track) in tracks.enumerated() {
      let frames = FrameWriter(graph: self, track: track, number: number, top: top, height: layout[number],
                               grandTotal: grandTotal)
      frames.write(into: &writer)
      top += layout[number] + Self.trackGap
    }
    writer.close(height: height)
    return writer.text
  }

  /// As tall as its deepest drawn frame: frames too narrow to draw take no rows.
  private func trackHeight(_ track: Track) -> Double {
    let minimumTotal = options.minimumWidth * Double(max(track.tree.root.total, 1)) / (options.width - 2 * Self.margin)
    var deepest = 0
    track.tree.walk { path, node in
      if Double(node.total) >= minimumTotal { deepest = max(deepest, path.count) }
    }
    return Double(deepest + 1) * options.frameHeight
  }

  /// The label that fits a frame `width` pixels wide, cut with "..".
  static func fittedText(_ name: String, width: Double) -> String {
    let room = Int((width - 6) / (fontSize * fontWidth))
    if room < 3 { return "" }
    if name.count <= room { return name }
    return String(name.prefix(room - 2)) + ".."
  }
}

/// Lays out and writes the frames of one track.
private struct FrameWriter {
  let graph: FlameGraph
  let track: FlameGraph.Track
  let number: Int
  let top: Double
  let height: Double
  let grandTotal: Int64

  private var scale: Double { (graph.options.width - 2 * FlameGraph.margin) / Double(max(track.tree.root.total, 1)) }
  private var largestChange: Double {
    guard let base = track.baseValues else { return 0 }
    return track.tree.nodes.indices.map { abs(Double(track.tree.nodes[$0].total) - base[$0]) }.max() ?? 0
  }

  /// Frames depth first, callers before callees; iterative, as stacks may be a million frames deep.
  func write(into writer: inout SVGWriter) {
    let change = largestChange, scale = self.scale, frameHeight = graph.options.frameHeight
    var pending = [(node: 0, depth: 0, x: FlameGraph.margin)]
    while let (index, depth, x) = pending.popLast() {
      let node = track.tree.nodes[index]
      let width = Double(node.total) * scale
      guard width >= graph.options.minimumWidth else { continue }
      let name = index == 0 ? track.label : track.tree.name(of: node)
      let y = graph.options.icicle ? top + Double(depth) * frameHeight : top + height - Double(depth + 1) * frameHeight
      writer.frame(FrameSpec(name: name, title: title(name, node, index), x: x, y: y, width: width,
                             height: frameHeight - 1, fill: fill(name, node, index, change),
                             track: number, depth: depth, value: node.total))
      var childX = x
      var children: [(node: Int, depth: Int, x: Double)] = []
      for child in node.children {
        children.append((Int(child), depth + 1, childX))
        childX += Double(track.tree.nodes[Int(child)].total) * scale
      }
      pending += children.reversed()
    }
  }

  private func title(_ name: String, _ node: CallTree.Node, _ index: Int) -> String {
    var text = "\(name) (\(graph.options.format(node.total)), \(share(node.total, of: grandTotal))"
    if let base = track.baseValues?[index] {
      let delta = Double(node.total) - base
      let sign = delta >= 0 ? "+" : "-"
      text += "; \(sign)\(graph.options.format(Int64(saturating: abs(delta).rounded()))) vs. base"
      if base > 0 { text += String(format: ", %@%.1f%%", sign, abs(delta) / base * 100) }
    }
    return text + ")"
  }

  private func fill(_ name: String, _ node: CallTree.Node, _ index: Int, _ change: Double) -> String {
    guard let base = track.baseValues?[index] else { return FlameColors.warm(name) }
    return FlameColors.difference(Double(node.total) - base, largest: change)
  }
}

/// A share as flame graphs print it: "12.34%".
func share(_ value: Int64, of total: Int64) -> String {
  String(format: "%.2f%%", total == 0 ? 0 : Double(value) / Double(total) * 100)
}
