import Foundation

struct FrameSpec {
  var name: String
  var title: String
  var x, y, width, height: Double
  var fill: String
  var track: Int
  var depth: Int
  var value: Int64
}

/// Appends the SVG document: header, controls, one <g> per frame, footer.
struct SVGWriter {
  private(set) var text = ""

  mutating func open(width: Double, height: Double, title: String) {
    text += """
      <?xml version="1.0" standalone="no"?>
      <svg version="1.1" width="\(number(width))" height="\(number(height))" viewBox="0 0 \(number(width)) \(number(height))" \
      xmlns="http://www.w3.org/2000/svg" onload="init(evt)">
      <style type="text/css">
      text { font-family: Verdana, sans-serif; font-size: \(number(FlameGraph.fontSize))px; fill: rgb(0,0,0); }
      #title { font-size: 17px; }
      #search, #unzoom { cursor: pointer; }
      #unzoom.hide { display: none; }
      .f:hover { stroke: black; stroke-width: 0.5; cursor: pointer; }
      .f.hide { display: none; }
      .f.parent { opacity: 0.5; }
      </style>
      <script type="text/ecmascript"><![CDATA[\(FlameGraphScript.source)]]></script>
      <rect x="0" y="0" width="100%" height="100%" fill="rgb(248,248,248)"/>
      <text id="title" x="\(number(width / 2))" y="24" text-anchor="middle">\(escape(title))</text>
      <text id="unzoom" class="hide" x="\(number(FlameGraph.margin))" y="24">Reset Zoom</text>
      <text id="search" x="\(number(width - FlameGraph.margin))" y="24" text-anchor="end">Search</text>
      <g id="frames">

      """
  }

  mutating func frame(_ frame: FrameSpec) {
    let label = FlameGraph.fittedText(frame.name, width: frame.width)
    text += "<g class=\"f\" data-track=\"\(frame.track)\" data-depth=\"\(frame.depth)\" data-v=\"\(frame.value)\" "
      + "data-name=\"\(escape(frame.name))\"><title>\(escape(frame.title))</title>"
      + "<rect x=\"\(number(frame.x))\" y=\"\(number(frame.y))\" width=\"\(number(frame.width))\" "
      + "height=\"\(number(frame.height))\" fill=\"\(frame.fill)\" rx=\"2\" ry=\"2\"/>"
      + "<text x=\"\(number(frame.x + 3))\" y=\"\(number(frame.y + frame.height - 4))\">\(escape(label))</text></g>\n"
  }

  mutating func close(height: Double) {
    text += """
      </g>
      <text id="details" x="\(number(FlameGraph.margin))" y="\(number(height - 10))"> </text>
      <text id="matched" x="\(number(FlameGraph.margin))" y="\(number(height - 10))" dx="900"> </text>
      </svg>

      """
  }

  /// Two decimals, enough for a pixel and short enough for big graphs.
  private func number(_ value: Double) -> String {
    var text = String(format: "%.2f", value)
    while text.hasSuffix("0") { text.removeLast() }
    if text.hasSuffix(".") { text.removeLast() }
    return text
  }
}

/// XML text and attribute escaping.
func escape(_ text: String) -> String {
  var escaped = ""
  escaped.reserveCapacity(text.utf8.count)
  for character in text.unicodeScalars {
    switch character {
    case "&": escaped += "&amp;"
    case "<": escaped += "&lt;"
    case ">": escaped += "&gt;"
    case "\"": escaped += "&quot;"
    case "'": escaped += "&apos;"
    // XML 1.0 forbids most control characters even as references.
    case _ where character.value < 0x20 && character != "\t" && character != "\n": escaped += "?"
    default: escaped.unicodeScalars.append(character)
    }
  }
  return escaped
}
