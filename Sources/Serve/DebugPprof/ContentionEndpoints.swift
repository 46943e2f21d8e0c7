/// /debug/pprof/mutex and /block.
enum ContentionEndpoints {
  static func notServed(_ name: String) -> String {
    "/debug/pprof/\(name) is not served live yet: record it with `prof \(name == "mutex" ? "mutex" : "block") -- COMMAND`"
  }
}
