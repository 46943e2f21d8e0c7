import Foundation
import Pprof

/// Go's `debug=1` text: each distinct stack with its values and, under it, one
/// `#\t0xADDR\tfunction\tfile:line` line per frame.
enum LegacyText {
  /// "goroutine profile: total N", then "count @ 0x.. 0x.." per stack, most first.
  static func counts(_ profile: Profile, title: String) -> String {
    var byStack: [[UInt64]: Int64] = [:]
    for sample in profile.samples { byStack[sample.locationIDs, default: 0] += sample.values.first ?? 0 }
    let total = byStack.values.reduce(0, +)
    let printer = Profile.FramePrinter(profile)
    return "\(title): total \(total)\n" + byStack.sorted { ($0.value, $1.key.count) > ($1.value, $0.key.count) }.map { stack, count in
      "\(count) @\(addresses(stack, profile))\n" + frames(stack, printer) + "\n"
    }.joined()
  }

  /// "heap profile: inuse_objects: inuse_bytes [alloc_objects: alloc_bytes] @ heap/RATE",
  /// then the same per stack, most in use first.
  static func heap(_ profile: Profile) -> String {
    func values(_ sample: Sample) -> [Int64] { sample.values.count == 4 ? sample.values : [0, 0, 0, 0] }
    func line(_ v: [Int64]) -> String { "\(v[2]): \(v[3]) [\(v[0]): \(v[1])]" }
    let totals = profile.samples.map(values).reduce([0, 0, 0, 0]) { zip($0, $1).map { $0 &+ $1 } }
    let printer = Profile.FramePrinter(profile)
    return "heap profile: \(line(totals)) @ heap/\(profile.period)\n" + profile.samples.sorted { values($0)[3] > values($1)[3] }.map {
      "\(line(values($0))) @\(addresses($0.locationIDs, profile))\n" + frames($0.locationIDs, printer) + "\n"
    }.joined()
  }

  /// Go's contention text: "--- mutex:", the clock (nanoseconds, so 1e9 cycles a
  /// second) and the sampling period, then "delay count @ 0x.. 0x.." per stack.
  static func contention(_ name: String, _ profile: Profile) -> String {
    let printer = Profile.FramePrinter(profile)
    let header = "--- \(name):\ncycles/second=1000000000\nsampling period=\(profile.period)\n"
    return header + profile.samples.sorted { ($0.values.last ?? 0) > ($1.values.last ?? 0) }.map {
      "\($0.values.last ?? 0) \($0.values.first ?? 0) @\(addresses($0.locationIDs, profile))\n" + frames($0.locationIDs, printer)
    }.joined()
  }

  private static func addresses(_ stack: [UInt64], _ profile: Profile) -> String {
    let byID = Dictionary(profile.locations.map { ($0.id, $0.address) }, uniquingKeysWith: { first, _ in first })
    return stack.map { " 0x" + String(byID[$0] ?? 0, radix: 16) }.joined()
  }

  private static func frames(_ stack: [UInt64], _ printer: Profile.FramePrinter) -> String {
    printer.frames(of: stack).map { "#\t0x\(String($0.address, radix: 16))\t\($0.function)\t\($0.place)\n" }.joined()
  }
}
