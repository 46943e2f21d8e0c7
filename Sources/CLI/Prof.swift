import ArgumentParser
import OutputFile
import TargetLaunch

@main
struct Prof: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Profile and trace Swift programs on Linux.",
    discussion: """
      Examples:
        prof cpu -- .build/release/myserver --port 8080
        go tool pprof -top cpu.pb.gz
      """,
    version: "0.1.0",
    subcommands: [
      CPU.self, Heap.self, Block.self, Mutex.self, Trace.self, Run.self, Threads.self, Agent.self,
      Top.self, List.self, Flame.self, Diff.self, Convert.self, Bench.self, Race.self,
    ]
  )

  static func main() {
    InheritedDescriptors.record()  // before anything prof opens
    StandardStream.reserve()
    StandardStream.checkPrintedOutputAtExit()
    main(nil)
  }
}
