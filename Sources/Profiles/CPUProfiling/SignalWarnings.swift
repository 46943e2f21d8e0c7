extension CPUSampleCollector {
  /// What the program did to the sampling signal, as warning lines: a handler of
  /// its own, or threads that block the signal and the samples they cost.
  public func signalWarnings(hz: Int, signal: SamplingSignal) -> [String] {
    var lines: [String] = []
    if handlerReplaced {
      lines.append("""
        the program installed its own \(signal.name) handler: prof kept its own and passed the program \
        the \(stats.foreignSignals) \(signal.name) signals prof did not send; if the program relies on \
        \(signal.name), run prof with --signal SIGRTMIN+3 (or another signal it leaves alone)
        """)
    }
    if !blockingThreads.isEmpty { lines.append(blockedThreadsWarning(hz: hz, signal: signal)) }
    return lines
  }

  /// Samples a thread should have had from its CPU time, less those it had.
  public func missedSamples(tid: UInt32, cpuNanos: UInt64, hz: Int) -> UInt64 {
    let expected = cpuNanos * UInt64(hz) / 1_000_000_000
    let received = stacks.reduce(into: UInt64(0)) { if $1.key.tid == tid { $0 += $1.value.periods } }
    return expected > received ? expected - received : 0
  }

  private func blockedThreadsWarning(hz: Int, signal: SamplingSignal) -> String {
    let threads = blockingThreads.sorted { $0.value.cpuNanos > $1.value.cpuNanos }
    let missed = threads.reduce(UInt64(0)) { $0 + missedSamples(tid: $1.key, cpuNanos: $1.value.cpuNanos, hz: hz) }
    let cpuNanos = threads.reduce(UInt64(0)) { $0 + $1.value.cpuNanos }
    let listed = threads.prefix(5).map { "\($0.value.name) (tid \($0.key), \(seconds($0.value.cpuNanos)) s CPU)" }
    let more = threads.count > 5 ? " and \(threads.count - 5) more" : ""
    return """
      \(threads.count) thread\(threads.count == 1 ? "" : "s") blocked \(signal.name), so \(seconds(cpuNanos)) s \
      of CPU time went unsampled (about \(missed) samples missed): \(listed.joined(separator: ", "))\(more)
      """
  }

  private func seconds(_ nanos: UInt64) -> String {
    let hundredths = (nanos + 5_000_000) / 10_000_000
    return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
  }
}
