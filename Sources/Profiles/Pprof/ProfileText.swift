/// A stable textual rendering of a profile, every field in the order it is
/// stored, for golden tests and debugging, as google/pprof's Profile.String()
/// serves its tests: a change in what a builder emits shows as a diff of lines.
extension Profile {
  public var text: String {
    var lines: [String] = []
    if let periodType { lines.append("PeriodType: \(periodType.type) \(periodType.unit)") }
    lines.append("Period: \(period)")
    lines.append("Time: \(timeNanos)")
    lines.append("Duration: \(durationNanos)")
    if !defaultSampleType.isEmpty { lines.append("DefaultSampleType: \(defaultSampleType)") }
    if !dropFrames.isEmpty || !keepFrames.isEmpty { lines.append("DropFrames: \(dropFrames) KeepFrames: \(keepFrames)") }
    lines += comments.map { "Comment: \($0)" }
    lines.append("Samples:")
    lines.append(sampleTypes.map { "\($0.type)/\($0.unit)" }.joined(separator: " "))
    for sample in samples {
      let values = sample.values.map { Self.padded(String($0), 10) }.joined(separator: " ")
      lines.append("\(values): \(sample.locationIDs.map(String.init).joined(separator: " "))")
      for label in sample.labels {
        switch label.value {
        case .string(let value): lines.append("                \(label.key):[\(value)]")
        case .number(let value, let unit): lines.append("                \(label.key):[\(value)\(unit.isEmpty ? "" : " " + unit)]")
        }
      }
    }
    lines.append("Locations")
    let functionsByID = Dictionary(functions.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    for location in locations {
      let head = "\(Self.padded(String(location.id), 6)): 0x\(String(location.address, radix: 16)) M=\(location.mappingID)"
        + (location.isFolded ? " [F]" : "")
      let frames = location.lines.map { line -> String in
        guard let function = functionsByID[line.functionID] else { return "?\(line.functionID)" }
        let system = function.systemName != function.name ? " (\(function.systemName))" : ""
        return "\(function.name)\(system) \(function.filename):\(line.line):\(line.column) s=\(function.startLine)"
      }
      lines.append(frames.isEmpty ? head : head + " " + frames[0])
      lines += frames.dropFirst().map { "                " + $0 }
    }
    lines.append("Mappings")
    for mapping in mappings {
      let flags = [(mapping.hasFunctions, "FN"), (mapping.hasFilenames, "FL"), (mapping.hasLineNumbers, "LN"),
                   (mapping.hasInlineFrames, "IN")].filter(\.0).map(\.1)
      lines.append("\(mapping.id): 0x\(String(mapping.memoryStart, radix: 16))/0x\(String(mapping.memoryLimit, radix: 16))"
                   + "/0x\(String(mapping.fileOffset, radix: 16)) \(mapping.filename) \(mapping.buildID) [\(flags.joined(separator: " "))]")
    }
    return lines.joined(separator: "\n") + "\n"
  }

  private static func padded(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - text.count)) + text
  }
}
