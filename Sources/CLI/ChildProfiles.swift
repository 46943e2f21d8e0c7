import Foundation
import OutputFile
import Pprof
import Recording
import TargetLaunch

/// Writes the profiles of the processes a run started, when followed: one beside
/// the output for each (x.<pid>.pb.gz), and with --merge one of them all.
struct ChildProfiles {
  let options: ChildOptions

  /// Writes each child's profile, made by `build` (what it cannot symbolize said
  /// through `symbolization`), beside `output`, and says its `summary` lines (the
  /// first one with the file's name); with --merge then x.merged.pb.gz of `parent`
  /// (the process prof launched, `pid`) and every child.
  func write<Sink>(_ children: [ChildRecording<Sink>], beside output: String, parent: Profile, pid: pid_t,
                   build: (Sink, _ durationNanos: Int64) -> (profile: Profile, warnings: [String]),
                   symbolization: inout SymbolizationWarnings,
                   summary: (Sink, Profile) -> [String]) throws {
    guard options.followChildren else { return }
    var processes = [(profile: parent, labels: Self.labels(pid: Int64(pid), parent))]
    for child in children {
      let (built, warnings) = build(child.sink, child.durationNanos)
      symbolization.say(warnings)
      let path = numbered(output, child.name)
      try AtomicOutputFile(path: path).commit(built.gzipped())
      for (index, line) in summary(child.sink, built).enumerated() { warn("child \(child.name): \(line)\(index == 0 ? "; wrote \(path)" : "")") }
      processes.append((built, Self.labels(pid: Int64(child.name.prefix { $0.isNumber }) ?? 0, built)))
    }
    guard options.merge else { return }
    let path = numbered(output, "merged")
    try AtomicOutputFile(path: path).commit(Profile.merged(processes).gzipped())
    warn("wrote \(path) of \(processes.count) processes; go tool pprof -tags \(path) shows each one's share")
  }

  /// pid, and the program's name as pprof's "File:" shows it (the first mapping's).
  private static func labels(pid: Int64, _ profile: Profile) -> [Label] {
    var labels = [Label(key: "pid", value: .number(pid, unit: ""))]
    if let file = profile.mappings.first?.filename, !file.isEmpty {
      labels.append(Label(key: "process", value: .string(URL(fileURLWithPath: file).lastPathComponent)))
    }
    return labels
  }
}
