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

  @OptionGroup var children: ChildOptions

  @OptionGroup var symbols: SymbolizerOptions

  @Option(help: ArgumentHelp("Take the profile of a running process started with `prof run --block` (or --mutex): its waits since it started. No COMMAND then.",
                             valueName: "pid"))
  var pid: Int32?

  @OptionGroup var target: TargetOptions

  func validate() throws {
    if pid != nil && children.followChildren { throw ValidationError("--follow-children cannot be used with --pid: an attached agent records only its own process") }
  }

  func record(_ kind: ContentionProfile.Kind, into output: String, setting: [String: String]) throws {
    if let pid { return try snapshot(kind, of: pid, into: output) }
    let file = try AtomicOutputFile(path: output)
    let settings = setting.merging([AgentEnvironment.unwind.name: unwind.rawValue]) { $1 }
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
    if let warning = collector.undefinedBucketsWarning { warn(warning) }
    let status = try session.writeAndFinish(profile, to: file, lastProgram: command.path, lost: "waits")
    ContentionProfile.summary(kind, collector, profile).forEach(warn)
    try ChildProfiles(options: children).write(session.children(ContentionCollector.init), beside: output, parent: profile,
                                               pid: session.program.pid, build: build, symbolization: &symbolization) {
      ContentionProfile.summary(kind, $0, $1)
    }
    warn("wrote \(output); view: go tool pprof -http=: \(output)")
    try status.passThrough()
  }

  /// `--pid`: what the running program's agent has counted since it started.
  private func snapshot(_ kind: ContentionProfile.Kind, of pid: Int32, into output: String) throws {
    try target.requireNone()
    let file = try AtomicOutputFile(path: output)
    var collector = ContentionCollector()
    _ = try AttachedWindow.record(pid: pid, request: kind.rawValue, duration: nil, into: &collector)
    let (profile, warnings) = ContentionProfile.build(kind, from: collector, durationNanos: 0, symbolizer: symbols.symbolizer(),
                                                      comments: ["prof \(kind.rawValue) --pid \(pid)"])
    var symbolization = SymbolizationWarnings()
    symbolization.say(warnings)
    try file.commit(profile.gzipped())
    ContentionProfile.summary(kind, collector, profile).forEach(warn)
    warn("wrote \(output); view: go tool pprof -http=: \(output)")
  }
}
