import CPUProfiling
import Foundation
import HeapProfiling
import Pprof
import Symbolization

/// /heap, /allocs, /goroutine, /threadcreate and /symbol.
extension DebugPprofEndpoints {
  /// The heap since the program's start (Go: live objects and all past allocations).
  func heap(_ name: String, _ parameters: Parameters, cancelled: () -> Bool) throws(Refusal) -> DebugPprofResponse {
    guard settings.heapTracked else {
      throw Refusal(status: 404, reason: "heap profiling is off for this program: start it with `prof run --heap --http ADDRESS -- COMMAND` to serve /debug/pprof/\(name)")
    }
    return try cumulative(name, parameters, cancelled: cancelled, text: LegacyText.heap) { () throws(Refusal) -> Profile in
      var collector = HeapCollector()
      _ = try window("heap", seconds: nil, into: &collector, busyReason: busy, cancelled: cancelled)
      var profile = symbolized(modules: collector.modules) {
        HeapProfile.build(from: collector, durationNanos: 0, symbolizer: $0,
                          comments: ["prof run --http: /debug/pprof/\(name) of process \(pid)"]).profile
      }
      // Go's heap profile leaves the default to pprof (the last type, inuse_space); allocs names alloc_space.
      if name == "allocs" { profile.defaultSampleType = "alloc_space" }
      return profile
    }
  }

  /// A profile the agent counts from the program's start (heap, block, mutex), as
  /// Go's are; `seconds=N`: what changed over N seconds, the first snapshot subtracted.
  func cumulative(_ name: String, _ parameters: Parameters, cancelled: () -> Bool, text: (Profile) -> String,
                  snapshot: () throws(Refusal) -> Profile) throws(Refusal) -> DebugPprofResponse {
    let delta = try parameters.delta()
    let debug = parameters.debug()
    var profile = try snapshot()
    if let delta {
      try pause(seconds: delta, cancelled: cancelled)
      let later = try snapshot()
      do { profile = try Profile.merged([(later, []), (profile.negated(), [])]) } catch {
        throw Refusal(status: 500, reason: "cannot subtract the snapshots: \(error)")
      }
      profile.defaultSampleType = later.defaultSampleType
    }
    if debug != 0 { return .text(text(profile)) }
    return .file(profile.gzipped(), named: delta == nil ? name : "\(name)-delta")
  }

  /// Waits, ending early (with no answer to give) when the client goes away.
  private func pause(seconds: Double, cancelled: () -> Bool) throws(Refusal) {
    let end = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < end {
      if cancelled() { throw Refusal(status: 499, reason: "the client went away") }
      Thread.sleep(forTimeInterval: 0.1)
    }
  }

  /// Every thread's stack now (goroutine), or each live thread under its start routine (threadcreate).
  func threads(_ name: String, _ parameters: Parameters) throws(Refusal) -> DebugPprofResponse {
    if parameters.query["seconds"] != nil {
      throw .badRequest("profile type \(name) does not support the seconds parameter here (each dump is taken anew)")
    }
    let debug = parameters.debug()
    var sink = ThreadDump.Sink(pid: pid)
    _ = try window("threads", seconds: nil, into: &sink, busyReason: busy, cancelled: { false })
    let dump = symbolized(modules: sink.samples.modules) { ThreadDump(sink, symbolizer: $0) }
    if name == "goroutine" && debug >= 2 { return .text(dump.text) }
    let profile = name == "goroutine" ? ThreadProfiles.current(dump) : ThreadProfiles.startRoutines(dump)
    if debug != 0 { return .text(LegacyText.counts(profile, title: "\(name) profile")) }
    return .file(profile.gzipped(), named: name)
  }

  /// GET: "num_symbols: 1" (symbols can be looked up); POST (or GET with a query)
  /// `0xADDR+0xADDR...`: one "0xADDR name" line for each address that names a function.
  func symbols(_ request: DebugPprofRequest) throws(Refusal) -> DebugPprofResponse {
    let text = request.method == "POST" ? String(decoding: request.body, as: UTF8.self) : request.rawQuery
    let addresses = text.split(separator: "+").compactMap { word -> UInt64? in
      let trimmed = word.trimmingCharacters(in: .whitespacesAndNewlines)
      let value = trimmed.hasPrefix("0x") ? UInt64(trimmed.dropFirst(2), radix: 16) : UInt64(trimmed)
      return value == 0 ? nil : value
    }
    var reply = "num_symbols: 1\n"
    guard !addresses.isEmpty else { return .text(reply) }
    var modules = symbolized(modules: []) { _ in knownModules }
    if modules.isEmpty {  // no window yet: a thread dump's modules
      var sink = ThreadDump.Sink(pid: pid)
      _ = try window("threads", seconds: nil, into: &sink, busyReason: busy, cancelled: { false })
      modules = sink.samples.modules
    }
    let names = symbolized(modules: modules) { symbolizer -> [String?] in
      var stacks = StackSymbolizer(modules: modules, hiddenModule: { _ in false })
      let indices = addresses.map { stacks.add([$0]).first }
      let locations = stacks.resolve(symbolizer: symbolizer).locations
      return indices.map { index in index.flatMap { locations[$0].frames.last?.name }.flatMap { $0.hasPrefix("[") ? nil : $0 } }
    }
    for (address, name) in zip(addresses, names) { if let name { reply += "0x\(String(address, radix: 16)) \(name)\n" } }
    return .text(reply)
  }
}
