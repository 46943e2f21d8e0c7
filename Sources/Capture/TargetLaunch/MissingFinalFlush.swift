import Glibc

extension TargetProcess {
  /// Why a run that ended without the agent's final flush did, for the user:
  /// killed by a signal, or it exec'd a program the agent is not in (statically
  /// linked, or started without LD_PRELOAD), told apart by the kernel's name of the
  /// last program against `lastProgram`, the path of the last one the agent saw.
  /// `lost` names what the last 50 ms lack ("samples", "allocations").
  public func missingFinalFlushMessage(lastProgram: String, lost: String) -> String {
    if case .signaled(let signal)? = status {
      let name = strsignal(signal).map { String(cString: $0) } ?? "signal \(signal)"
      return "the program was killed by signal \(signal) (\(name)) before the agent's final flush: \(lost) of its last 50 ms are missing"
    }
    let agentSaw = String(lastProgram.split(separator: "/").last ?? "")
    if let finalProgramName, !finalProgramName.isEmpty, !agentSaw.hasPrefix(finalProgramName) {
      return "the program exec'd \(finalProgramName), which ran without prof's agent (statically linked, or LD_PRELOAD removed): "
        + "nothing after the exec is in the profile"
    }
    return "the program exited without the agent's final flush (it closed the agent's stream, or left through a path the agent does not see): \(lost) of its last 50 ms are missing"
  }
}
