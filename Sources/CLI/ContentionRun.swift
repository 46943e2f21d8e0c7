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

  @Option(parsing: .unconditional, help: ArgumentHelp("Take the profile of a running process started with `prof run --block` (or --mutex): its waits since it started. No COMMAND then.",
                             valueName: "pid"))
  var pid: Int32?

  @OptionGroup var target: TargetOptions

  func validate() throws {
    try validateProcessID(pid)
    if pid != nil && children.followChildren { throw ValidationError("--follow-children cannot be used with --pid: an attached agent records only its own process") }
  }

  /// One run, a profile of each kind asked for (prof block --mutex-profile: both).
  func record(_ profiles: [(kind: ContentionProfile.Kind, path: String)], setting: [String: String]) throws {
    if let pid { return try profiles.forEach { try snapshot($0.kind, of: pid, into: $0.path) } }
    let files = try profiles.map { try AtomicOutputFile(path: $0.path) }
    let (kind, output) = profiles[0]  // followed children: validation allows one kind
    let settings = setting.merging([AgentEnvironment.unwind.name: unwind.rawValue]) { $1 }.merging(asyncStacks.settings) { $1 }
    let command = try target.resolve()
    let session = try RecordingSession.launch(command, settings: settings, followChildren: children.followChildren)
    let symbolizer = symbols.symbolizer()
    let build = { (kind: ContentionProfile.Kind, collector: ContentionCollector, durationNanos: Int64) in
      ContentionProfile.build(kind, from: collector, durationNanos: durationNanos, symbolizer: symbolizer,
                              comments: ["prof \(kind.rawValue) " + target.command.joined(separator: " ")])
    }
    var collector = ContentionCollector()
    session.record(into: &collector, symbolizingEarly: symbolizer)
    var symbolization = SymbolizationWarnings()
    let built = profiles.map { build($0.kind, collector, session.durationNanos) }
    built.forEach { symbolization.say($0.warnings) }
    if let warning = collector.undefinedBucketsWarning { warn(warning) }
    let status = try session.writeAndFinish(zip(built, files).map { ($0.profile, $1) }, lastProgram: collector.modules.first?.path ?? command.path,
                                            lost: "waits")
    zip(profiles, built).forEach { ContentionProfile.summary($0.kind, collector, $1.profile).forEach(warn) }
    let profile = built[0].profile
    try ChildProfiles(options: children).write(session.children(ContentionCollector.init), beside: output, parent: profile,
                                               pid: session.program.pid, build: { build(kind, $0, $1) },
                                               symbolization: &symbolization) {
      ContentionProfile.summary(kind, $0, $1)
    }
    warn("wrote \(profiles.map(\.path).joined(separator: " and ")); view: go tool pprof -http=: \(output)")
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
    ContentionProfile.summary(kind, collector, profile, running: true).forEach(warn)
    warn("wrote \(output); view: go tool pprof -http=: \(output)")
  }
}
