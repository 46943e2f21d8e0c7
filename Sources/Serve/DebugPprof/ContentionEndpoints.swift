import ContentionProfiling
import Pprof

/// /debug/pprof/block and /mutex: Go's contention profiles, cumulative since the
/// program's start as Go's are (a program started with `prof run --block` or
/// `--mutex`, as a Go program calls SetBlockProfileRate or SetMutexProfileFraction).
extension DebugPprofEndpoints {
  func contention(_ kind: ContentionProfile.Kind, _ parameters: Parameters, cancelled: () -> Bool) throws(Refusal) -> DebugPprofResponse {
    let name = kind.rawValue
    guard kind == .block ? settings.blockTracked : settings.mutexTracked else {
      throw Refusal(status: 404, reason: "\(name) profiling is off for this program: start it with `prof run --\(name) --http ADDRESS -- COMMAND` to serve /debug/pprof/\(name)")
    }
    return try cumulative(name, parameters, cancelled: cancelled, text: { LegacyText.contention(name, $0) }) { () throws(Refusal) -> Profile in
      var collector = ContentionCollector()
      _ = try window(name, seconds: nil, into: &collector, busyReason: busy, cancelled: cancelled)
      return symbolized(modules: collector.modules) {
        ContentionProfile.build(kind, from: collector, durationNanos: 0, symbolizer: $0,
                                comments: ["prof run --http: /debug/pprof/\(name) of process \(pid)"]).profile
      }
    }
  }
}
