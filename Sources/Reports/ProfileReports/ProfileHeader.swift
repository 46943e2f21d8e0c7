import Foundation
import Pprof

/// The lines pprof prints above a report: binary, build id, comments, type,
/// time and duration with the share of it sampled.
public enum ProfileHeader {
  public static func lines(_ profile: Profile, valueIndex: Int, total: Int64, format: ValueFormat) -> [String] {
    var lines: [String] = []
    if let main = profile.mappings.first {
      if !main.filename.isEmpty { lines.append("File: " + (main.filename.split(separator: "/").last.map(String.init) ?? "")) }
      if !main.buildID.isEmpty { lines.append("Build ID: " + main.buildID) }
    }
    lines += profile.comments.filter { !$0.hasPrefix("#") }
    lines.append("Type: " + profile.sampleTypes[valueIndex].type)
    if profile.timeNanos != 0 { lines.append("Time: " + time(profile.timeNanos)) }
    if profile.durationNanos != 0 {
      lines.append(duration(profile, total: total, unit: profile.sampleTypes[valueIndex].unit, format: format))
    }
    return lines
  }

  private static func time(_ nanos: Int64) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "MMM d, yyyy 'at' h:mma (zzz)"
    formatter.amSymbol = "am"
    formatter.pmSymbol = "pm"
    return formatter.string(from: Date(timeIntervalSince1970: Double(nanos) / 1e9))
  }

  private static func duration(_ profile: Profile, total: Int64, unit: String, format: ValueFormat) -> String {
    let duration = ValueFormat(autoScaling: "nanoseconds").format(profile.durationNanos)
    var line = "Duration: \(duration), Total samples = \(format.format(total)) "
    if UnitFamily.of(unit) == .time, let nanos = UnitFamily.time.unit(named: unit).map({ Int64(saturating: Double(total) * $0.factor) }), nanos != 0 {
      line += "(" + percentage(nanos, of: profile.durationNanos) + ")"
    }
    return line
  }
}
