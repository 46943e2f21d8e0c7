import AgentStream
import ArgumentParser
import ContentionProfiling
import Foundation
import OutputFile
import Pprof
import Symbolization
import Recording
import TargetLaunch

struct Block: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "block",
    abstract: "Record where a program's threads wait for each other; write Go's block profile.",
    discussion: """
      Runs COMMAND with prof's agent preloaded, which wraps pthread_mutex_lock (so \
      NSLock, NSRecursiveLock and NIOLock), pthread_rwlock_*, pthread_cond_wait and \
      sem_wait, with their timed forms. A lock is tried first; only an acquisition \
      that blocks is timed, with the stack of the thread that waited. The profile has \
      Go's sample types contentions/count and delay/nanoseconds.

      --rate is Go's SetBlockProfileRate: waits of at least that many ns are all \
      recorded, shorter ones with probability delay/rate and then unbiased. 1 (the \
      default, as go test -blockprofile) records every wait.

      --mutex-profile also writes Go's mutex profile (prof mutex --fraction 1) from \
      the same run, as go test -blockprofile b.out -mutexprofile m.out does.

      DispatchQueue.sync (and barrier syncs) are timed from the call until the work \
      starts, DispatchGroup.wait when it did not return at once.

      prof exits with the program's exit status (128+N if a signal N killed it).

      Examples:
        prof block -- .build/release/myserver
        prof block --rate 10000 -o block.pb.gz -- ./tool
        prof block --mutex-profile mutex.pb.gz -- .build/release/myserver
        prof block --pid 4242   # a program started with prof run --block: its waits so far
        go tool pprof -top block.pb.gz
      """
  )

  @Option(name: .shortAndLong, help: "Where to write the profile.")
  var output = "block.pb.gz"

  @Option(parsing: .unconditional, help: ArgumentHelp("Waits of at least this many ns are all recorded, shorter ones sampled; 1 records every wait.", valueName: "ns"))
  var rate = 1

  @Option(help: ArgumentHelp("Also write the mutex profile of the same run (every contended release) to this path.", valueName: "path"))
  var mutexProfile: String?

  @OptionGroup var contention: ContentionOptions

  func validate() throws {
    guard (1...(1 << 40)).contains(rate) else { throw ValidationError("--rate must be between 1 ns and 2^40 ns") }
    if mutexProfile != nil && contention.children.followChildren {
      throw ValidationError("--mutex-profile is for the program alone: with --follow-children run prof mutex on its own")
    }
    try validateDistinct([("-o", output), ("--mutex-profile", mutexProfile)])
  }

  func run() throws {
    var settings = [AgentEnvironment.blockRate.name: String(rate)]
    if mutexProfile != nil { settings[AgentEnvironment.mutexFraction.name] = "1" }
    try contention.record([(.block, output)] + (mutexProfile.map { [(.mutex, $0)] } ?? []), setting: settings)
  }
}

struct Mutex: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mutex",
    abstract: "Record which code holds the locks others wait for; write Go's mutex profile.",
    discussion: """
      Runs COMMAND with prof's agent preloaded, which wraps the pthread mutex and \
      read-write lock calls (so NSLock, NSRecursiveLock and NIOLock). As Go's mutex \
      profile since Go 1.22, the time threads wait for a lock is charged to the stack \
      of the thread that releases it: a lock held 1 s while 5 threads waited reports \
      5 s at the holder's unlock. Sample types contentions/count and delay/nanoseconds.

      --fraction is Go's SetMutexProfileFraction: 1 in n contended releases is \
      recorded, counted n times. 1 (the default, as go test -mutexprofile) records all.

      prof exits with the program's exit status (128+N if a signal N killed it).

      Examples:
        prof mutex -- .build/release/myserver
        prof mutex --fraction 10 -o mutex.pb.gz -- ./tool
        prof mutex --pid 4242   # a program started with prof run --mutex: its contention so far
        go tool pprof -top mutex.pb.gz
      """
  )

  @Option(name: .shortAndLong, help: "Where to write the profile.")
  var output = "mutex.pb.gz"

  @Option(parsing: .unconditional, help: ArgumentHelp("Record 1 in this many contended releases; 1 records every one.", valueName: "n"))
  var fraction = 1

  @OptionGroup var contention: ContentionOptions

  func validate() throws {
    guard (1...(1 << 30)).contains(fraction) else { throw ValidationError("--fraction must be between 1 and 2^30") }
  }

  func run() throws {
    try contention.record([(.mutex, output)], setting: [AgentEnvironment.mutexFraction.name: String(fraction)])
  }
}
