import Foundation

/// Checks a Chrome trace against the rules Perfetto and catapult rely on
/// (../shared/reference/formats.md): object form, integer pid/tid, ts present and
/// non-negative, each track's events in ts order, complete slices properly nested
/// and under 512 deep, B/E and b/e balanced with matching names, numeric counter
/// arguments, flows that end where they started, and only known metadata.
enum TraceValidator {
  struct Violation: Error, CustomStringConvertible {
    let description: String
  }

  private static let metadataNames: Set = ["process_name", "thread_name", "process_sort_index", "thread_sort_index"]
  private static let slack = 0.0015  // microseconds: ts and dur are rounded to ns

  static func validate(_ data: Data) throws -> [[String: Any]] {
    guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
          let events = root["traceEvents"] as? [[String: Any]] else {
      throw Violation(description: "not an object with a traceEvents array")
    }
    var tracks: [String: Track] = [:]
    var asyncOpen: [String: Int] = [:]
    var flowStarts = Set<String>(), flowEnds: [String] = []
    for (index, event) in events.enumerated() {
      func fail(_ message: String) -> Violation { Violation(description: "event \(index) \(event): \(message)") }
      guard let phase = event["ph"] as? String, let name = event["name"] as? String else { throw fail("no ph or name") }
      guard let pid = integer(event["pid"]), let tid = integer(event["tid"]) else { throw fail("pid and tid must be integers") }
      if phase == "M" {
        guard metadataNames.contains(name) else { throw fail("unknown metadata") }
        continue
      }
      guard let ts = number(event["ts"]), ts >= 0 else { throw fail("ts missing or negative") }
      let key = "\(pid)/\(tid)"
      var track = tracks[key] ?? Track()
      guard ts + slack >= track.lastTS else { throw fail("out of order on its track (last ts \(track.lastTS))") }
      track.lastTS = ts
      switch phase {
      case "X":
        guard let dur = number(event["dur"]), dur >= 0 else { throw fail("complete event needs dur >= 0") }
        while let top = track.openEnds.last, top <= ts + slack { track.openEnds.removeLast() }
        if let parent = track.openEnds.last, ts + dur > parent + slack { throw fail("overlaps its parent ending at \(parent)") }
        track.openEnds.append(ts + dur)
        guard track.openEnds.count < 512 else { throw fail("nested 512 deep") }
      case "B":
        track.openNames.append(name)
      case "E":
        guard track.openNames.popLast() == name else { throw fail("E does not match the open B") }
      case "b", "e":
        guard let id = event["id"], let category = event["cat"] as? String else { throw fail("async event needs id and cat") }
        let asyncKey = "\(category)/\(name)/\(id)"
        asyncOpen[asyncKey, default: 0] += phase == "b" ? 1 : -1
        guard asyncOpen[asyncKey]! >= 0 else { throw fail("e before its b") }
      case "C":
        guard let args = event["args"] as? [String: Any], !args.isEmpty, args.values.allSatisfy({ number($0) != nil })
        else { throw fail("counter needs numeric args") }
      case "i":
        guard ["t", "p", "g"].contains(event["s"] as? String) else { throw fail("instant needs s") }
      case "s", "f":
        guard let id = event["id"] else { throw fail("flow needs an id") }
        if phase == "s" { flowStarts.insert("\(id)") } else { flowEnds.append("\(id)") }
      default:
        throw fail("unexpected phase")
      }
      tracks[key] = track
    }
    if let (key, track) = tracks.first(where: { !$0.value.openNames.isEmpty }) {
      throw Violation(description: "track \(key) leaves \(track.openNames) open")
    }
    if let open = asyncOpen.first(where: { $0.value != 0 }) { throw Violation(description: "async \(open.key) unbalanced") }
    if let orphan = flowEnds.first(where: { !flowStarts.contains($0) }) { throw Violation(description: "flow \(orphan) never started") }
    return events
  }

  private struct Track {
    var lastTS = 0.0
    var openEnds: [Double] = []
    var openNames: [String] = []
  }

  private static func number(_ value: Any?) -> Double? { (value as? NSNumber)?.doubleValue }

  private static func integer(_ value: Any?) -> Int? {
    guard let number = value as? NSNumber, number.doubleValue == number.doubleValue.rounded() else { return nil }
    return number.intValue
  }
}
