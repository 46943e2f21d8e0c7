import AgentStream

extension CPUSampleCollector {
  /// What the program did to the sampling signal, as warning lines: a handler of
  /// its own, or threads that block the signal and the samples they cost.
  /// `attachedBy`: the subcommand (cpu, trace) of a `--pid` window, whose agent
  /// samples with SIGPROF whatever the program does; nil when prof ran the program.
  public func signalWarnings(hz: Int, signal: SamplingSignal, attachedBy command: String? = nil) -> [String] {
    var lines: [String] = []
    if handlerReplaced {
      // An attached agent cannot take --signal (neither can prof run): only a program prof starts can.
      let advice = command.map { "profile it from its start with prof \($0) --signal SIGRTMIN+3 -- COMMAND (--pid samples with SIGPROF only)" }
        ?? "run prof with --signal SIGRTMIN+3 (or another signal it leaves alone)"
      lines.append("""
        the program installed its own \(signal.name) handler: prof kept its own and passed the program \
        the \(stats.foreignSignals) \(signal.name) signals prof did not send; if the program relies on \
        \(signal.name), \(advice)
        """)
    }
    if let blocked = blockedThreadsSummary(hz: hz) { lines.append(blocked) }
    return lines
  }

  /// CPU time of a thread that no sample stands for: what it used, less the timer
  /// periods its samples cover.
  public func unsampledNanos(_ thread: SignalBlockingThread, hz: Int) -> UInt64 {
    let periods = stacks.reduce(into: UInt64(0)) { if $1.key.tid == thread.tid { $0 += $1.value.periods } }
    return thread.unsampledNanos(sampledPeriods: periods, periodNanos: 1_000_000_000 / UInt64(max(hz, 1)))
  }

  /// Samples a thread should have had from its CPU time, less those it had.
  public func missedSamples(_ thread: SignalBlockingThread, hz: Int) -> UInt64 {
    unsampledNanos(thread, hz: hz) * UInt64(max(hz, 1)) / 1_000_000_000
  }

  /// "2 threads blocked SIGPROF, so 1.00 s of CPU time went unsampled (about 100
  /// samples missed): ...": the warning, and the profile's comment.
  public func blockedThreadsSummary(hz: Int) -> String? {
    guard let signal = blockingThreads.values.first?.signal else { return nil }
    let threads = blockingThreads.values.sorted { ($0.cpuNanos, $1.tid) > ($1.cpuNanos, $0.tid) }
    let missed = threads.reduce(UInt64(0)) { $0 + missedSamples($1, hz: hz) }
    let cpuNanos = threads.reduce(UInt64(0)) { $0 + unsampledNanos($1, hz: hz) }
    let listed = threads.prefix(5).map { "\($0.name) (tid \($0.tid), \(Self.seconds($0.cpuNanos)) s CPU)" }
    let more = threads.count > 5 ? " and \(threads.count - 5) more" : ""
    return """
      \(threads.count) thread\(threads.count == 1 ? "" : "s") blocked \(signal.name), so \(Self.seconds(cpuNanos)) s \
      of CPU time went unsampled (about \(missed) samples missed): \(listed.joined(separator: ", "))\(more)
      """
  }

  static func seconds(_ nanos: UInt64) -> String {
    let hundredths = (nanos + 5_000_000) / 10_000_000
    return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
  }
}
