import ArgumentParser
import Dispatch
import Recording

/// --checkpoint-every, for prof cpu and prof heap.
struct CheckpointOptions: ParsableArguments {
  @Option(parsing: .unconditional, help: ArgumentHelp("Rewrite the output with what was collected so far this often while the program runs (0: only at the end), so that a run cut short keeps a profile (default: 10).",
                             valueName: "seconds"))
  var checkpointEvery: Seconds?

  func validate() throws { try checkpointEvery?.validate("--checkpoint-every", zeroMeans: "only at the end") }

  /// A window of `--pid` is written once, at its end: rewriting it meanwhile is a launch's.
  func refuse(pid: Int32?, children: ChildOptions) throws {
    guard pid != nil else { return }
    if checkpointEvery != nil { throw ValidationError("--checkpoint-every cannot be used with --pid: an attached window is written once, when it ends") }
    if children.followChildren { throw ValidationError("--follow-children cannot be used with --pid: an attached agent records only its own process") }
  }

  /// Rewrites of `output` made by `render`, on `queue`; none when they are off.
  func checkpoints<Sink>(of output: String, queue: DispatchQueue,
                         render: @escaping Checkpoints<Sink>.Render) -> [Checkpoints<Sink>] {
    let every = checkpointEvery ?? Seconds(10)
    guard every.value > 0 else { return [] }
    return [Checkpoints(every: every.nanoseconds, what: "checkpoint", queue: queue, path: { _ in output }, render: render)]
  }
}

/// What prof cpu and prof heap share: how stacks and names are taken, checkpoints,
/// children, and the program to run (or `--pid`, declared by each command).
struct ProfileRecordingOptions: ParsableArguments {
  @OptionGroup var asyncStacks: AsyncStackOptions

  @OptionGroup var checkpoint: CheckpointOptions

  @OptionGroup var children: ChildOptions

  @OptionGroup var symbols: SymbolizerOptions

  @OptionGroup var target: TargetOptions

  func refuse(pid: Int32?) throws { try checkpoint.refuse(pid: pid, children: children) }
}

/// --follow-children and --merge: what prof cpu and prof heap do with the processes
/// the program starts.
struct ChildOptions: ParsableArguments {
  @Flag(help: "Profile the processes the program starts too, forked or exec'd, each into its own file with its pid in the name (-o x.pb.gz: x.<pid>.pb.gz).")
  var followChildren = false

  @Flag(help: "With --follow-children, also write one profile of every process (-o x.pb.gz: x.merged.pb.gz), each sample labelled with its process's pid and program name.")
  var merge = false

  func validate() throws {
    if merge && !followChildren { throw ValidationError("--merge combines the profiles --follow-children writes: give both") }
  }
}

/// heap.pb.gz -> heap.<tag>.pb.gz; names without the suffix get .<tag> appended.
func numbered(_ path: String, _ tag: CustomStringConvertible) -> String {
  path.hasSuffix(".pb.gz") ? "\(path.dropLast(6)).\(tag).pb.gz" : "\(path).\(tag)"
}
