import ArgumentParser
import TargetLaunch

/// What `prof run` has the dormant agent count from the program's start, so that
/// a snapshot (`prof heap --pid`, /debug/pprof/heap, /block, /mutex) covers the
/// whole run, as Go's cumulative profiles do.
struct RunTracking: ParsableArguments {
  @Flag(help: "Track the heap from the program's start, so that `prof heap --pid` can take its profile at any time (costs what prof heap costs).")
  var heap = false

  @Option(help: ArgumentHelp("With --heap: mean bytes allocated between samples (Go's default, 512 KiB); 1 records every allocation.",
                             valueName: "bytes"))
  var heapRate = Heap.defaultSampleRate

  @Flag(help: "Record where threads wait for locks from the program's start, for /debug/pprof/block (costs what prof block costs).")
  var block = false

  @Option(help: ArgumentHelp("With --block: waits of at least this many ns are all recorded, shorter ones sampled (Go's SetBlockProfileRate).",
                             valueName: "ns"))
  var blockRate = 1

  @Flag(help: "Record which code holds the locks others wait for from the program's start, for /debug/pprof/mutex (costs what prof mutex costs).")
  var mutex = false

  @Option(help: ArgumentHelp("With --mutex: record 1 in this many contended releases (Go's SetMutexProfileFraction).", valueName: "n"))
  var mutexFraction = 1

  func validate() throws {
    guard (1...(1 << 40)).contains(heapRate) else { throw ValidationError("--heap-rate must be between 1 byte and 1 TiB") }
    guard (1...(1 << 40)).contains(blockRate) else { throw ValidationError("--block-rate must be between 1 ns and 2^40 ns") }
    guard (1...(1 << 30)).contains(mutexFraction) else { throw ValidationError("--mutex-fraction must be between 1 and 2^30") }
  }

  /// The agent's environment for these.
  var settings: [String: String] {
    var settings: [String: String] = [:]
    if heap { settings[AgentEnvironment.heapRate.name] = String(heapRate) }
    if block { settings[AgentEnvironment.blockRate.name] = String(blockRate) }
    if mutex { settings[AgentEnvironment.mutexFraction.name] = String(mutexFraction) }
    return settings
  }
}
