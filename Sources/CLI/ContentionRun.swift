import AgentStream
import ArgumentParser
import ContentionProfiling
import Foundation
import OutputFile
import Pprof
import Symbolization
import Recording
import TargetLaunch

/// What prof block and prof mutex share: how stacks are taken, children, the command.
struct ContentionOptions: ParsableArguments {
  @Option(help: "How a wait's stack is captured: libunwind (DWARF CFI, always sound) or fp (frame pointers: faster, sound for Swift code, not for C libraries built without them).")
  var unwind: Unwinder = .libunwind

  @OptionGroup var asyncStacks: AsyncStackOptions

  @OptionGroup var children: ChildOptions

  @OptionGroup var symbols: SymbolizerOptions

  @OptionGroup var target: TargetOptions

  func record(_ kind: ContentionProfile.Kind, into output: String, setting: [String: String]) throws {
    let file = try AtomicOutputFile(path: output)
    let settings = setting.merging([AgentEnvironment.unwind.name: unwind.rawValue]) { $1 }.merging(asyncStacks.settings) { $1 }
    let command = try target.resolve()
    let session = try RecordingSession.launch(command, settings: settings, followChildren: children.followChildren)
    let symbolizer = symbols.symbolizer()
    let comments = ["prof \(kind.rawValue) " + target.command.joined(separator: " ")]
    let build = { (collector: ContentionCollector, durationNanos: Int64) in
      ContentionProfile.build(kind, from: collector, durationNanos: durationNanos, symbolizer: symbolizer, comments: comments)
    }
    var collector = ContentionCollector()
    session.record(into: &collector)
    var symbolization = SymbolizationWarnings()
    let (profile, warnings) = build(collector, session.durationNanos)
    symbolization.say(warnings)
    if collector.undefinedBuckets > 0 { warn("\(collector.undefinedBuckets) counts named stacks the agent never sent") }
    let written = Result { try file.commit(profile.gzipped()) }
    let status = session.finish()
    if collector.start != nil && collector.endReason == nil {
      warn(session.program.missingFinalFlushMessage(lastProgram: command.path, lost: "waits"))
    }
    try written.get()
    ContentionProfile.summary(kind, collector, profile).forEach(warn)
    try ChildProfiles(options: children).write(session.children(ContentionCollector.init), beside: output, parent: profile,
                                               pid: session.program.pid, build: build, symbolization: &symbolization) {
      ContentionProfile.summary(kind, $0, $1)
    }
    warn("wrote \(output); view: go tool pprof -http=: \(output)")
    try status.passThrough()
  }
}
