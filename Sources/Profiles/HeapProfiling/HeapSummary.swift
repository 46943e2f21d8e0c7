import Foundation
import Pprof

/// What `prof heap` prints when the program has exited (or, with --pid, of a program
/// that runs on): totals, the peak and when it happened, what was still in use, and
/// the stacks that hold most of it.
public enum HeapSummary {
  /// `moment`: when the in-use figures were taken, "at exit" or "now" (a snapshot of a running program).
  public static func lines(_ collector: HeapCollector, _ profile: Profile, topLeaks: Int = 5, moment: String = "at exit") -> [String] {
    let stats = collector.stats
    let inUse = profile.samples.reduce((objects: Int64(0), bytes: Int64(0))) { ($0.objects + $1.values[2], $0.bytes + $1.values[3]) }
    let peakTime = collector.peakSeconds.map { String(format: " at %.2f s", $0) } ?? ""
    // Exact mode: the profile's in-use values are exact. Sampled: the agent's exact
    // counters give the blocks and heap bytes still in use; the stacks are estimates.
    // The last process image's: an exec dropped what the images before it held.
    let last = collector.lastImageStats
    let inUseLine = stats.sampleRate > 1
      ? "in use \(moment) \(last.allocations >= last.frees ? last.allocations - last.frees : 0) blocks, "
        + "\(bytes(max(stats.inUseBytes, 0))) of heap; the sampled stacks hold \(bytes(inUse.bytes)) in \(inUse.objects) blocks (estimated)"
      : "in use \(moment) \(bytes(inUse.bytes)) in \(inUse.objects) blocks"
    var lines = [
      "\(stats.allocations) allocations, \(stats.frees) frees, \(bytes(Int64(stats.allocatedBytes))) allocated; " +
        "heap peak \(bytes(Int64(stats.peakInUseBytes)))\(peakTime); " + inUseLine,
    ]
    let leaks = profile.samples.filter { $0.values[3] > 0 }.sorted { $0.values[3] > $1.values[3] }.prefix(topLeaks)
    if !leaks.isEmpty { lines.append("top leaking stacks (in use \(moment)):") }
    let names = FunctionNames(profile)
    for sample in leaks {
      lines.append("  \(bytes(sample.values[3])) in \(sample.values[2]) blocks: " + names.stack(sample).joined(separator: " < "))
    }
    if stats.lostSamples > 0 { lines.append("\(stats.lostSamples) sampled allocations lost: the agent's stack table was full") }
    return lines
  }

  /// 1536 -> "1.5 KiB".
  public static func bytes(_ count: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(count)
    var unit = 0
    while abs(value) >= 1024 && unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
  }
}

/// Function names of a sample's locations, leaf first, inlined frames included.
private struct FunctionNames {
  private let linesByLocation: [UInt64: [String]]

  init(_ profile: Profile) {
    var names: [UInt64: [String]] = [:]
    for location in profile.locations {
      names[location.id] = location.lines.map { profile.functions[Int($0.functionID) - 1].name }
    }
    linesByLocation = names
  }

  /// The innermost `limit` frames, each name cut at `width` characters (C++ templates run long).
  func stack(_ sample: Sample, limit: Int = 5, width: Int = 100) -> [String] {
    let all = sample.locationIDs.flatMap { linesByLocation[$0] ?? ["?"] }
      .map { $0.count > width ? $0.prefix(width - 1) + "…" : $0 }
    return all.count > limit ? Array(all.prefix(limit)) + ["..."] : all
  }
}
