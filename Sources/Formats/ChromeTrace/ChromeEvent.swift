/// One Chrome Trace Event Format event, as Perfetto and catapult read it.
struct ChromeEvent {
  enum Phase: String {
    case complete = "X", begin = "B", end = "E", asyncBegin = "b", asyncEnd = "e"
    case instant = "i", counter = "C", flowStart = "s", flowEnd = "f", metadata = "M"
  }

  enum Argument {
    case string(String)
    case number(Double)
    case integer(Int64)
  }

  var phase: Phase
  var name: String
  var category = ""
  var pid = 0
  var tid: Int
  /// Nanoseconds since the trace start; nil for metadata.
  var nanos: UInt64?
  var durationNanos: UInt64?
  var id: UInt64?
  var arguments: [(String, Argument)] = []
}

/// Writes events as JSON by hand: strings escaped per RFC 8259, times in
/// microseconds with three decimals (nanosecond precision, relative to the start
/// so that they stay far below 2^53).
struct ChromeTraceWriter {
  private(set) var bytes: [UInt8] = []
  private var first = true

  init() {
    append("{\"traceEvents\":[\n")
  }

  mutating func write(_ event: ChromeEvent) {
    append(first ? "" : ",\n")
    first = false
    append("{\"ph\":\"\(event.phase.rawValue)\",\"name\":")
    appendString(event.name)
    if !event.category.isEmpty {
      append(",\"cat\":")
      appendString(event.category)
    }
    append(",\"pid\":\(event.pid),\"tid\":\(event.tid)")
    if let nanos = event.nanos { append(",\"ts\":" + Self.microseconds(nanos)) }
    if let duration = event.durationNanos { append(",\"dur\":" + Self.microseconds(duration)) }
    if let id = event.id { append(",\"id\":\(id)") }
    switch event.phase {
    case .instant: append(",\"s\":\"t\"")
    case .flowEnd: append(",\"bp\":\"e\"")
    default: break
    }
    if !event.arguments.isEmpty { appendArguments(event.arguments) }
    append("}")
  }

  mutating func finish(metadata: [(String, String)]) -> [UInt8] {
    append("\n],\"displayTimeUnit\":\"ms\",\"metadata\":{")
    for (index, (key, value)) in metadata.enumerated() {
      if index > 0 { append(",") }
      appendString(key)
      append(":")
      appendString(value)
    }
    append("}}\n")
    return bytes
  }

  static func microseconds(_ nanos: UInt64) -> String {
    let fraction = String(nanos % 1000)
    return "\(nanos / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
  }

  private mutating func appendArguments(_ arguments: [(String, ChromeEvent.Argument)]) {
    append(",\"args\":{")
    for (index, (key, value)) in arguments.enumerated() {
      if index > 0 { append(",") }
      appendString(key)
      append(":")
      switch value {
      case .string(let text): appendString(text)
      case .number(let number): append(number.isFinite ? String(number) : "0")
      case .integer(let integer): append(String(integer))
      }
    }
    append("}")
  }

  private mutating func append(_ text: String) { bytes.append(contentsOf: text.utf8) }

  private mutating func appendString(_ text: String) {
    bytes.append(UInt8(ascii: "\""))
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": append("\\\"")
      case "\\": append("\\\\")
      case "\n": append("\\n")
      case "\r": append("\\r")
      case "\t": append("\\t")
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
      default: bytes.append(contentsOf: String(scalar).utf8)
      }
    }
    bytes.append(UInt8(ascii: "\""))
  }
}
