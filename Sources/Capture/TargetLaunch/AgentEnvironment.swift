/// The environment prof sets for the agent in the program: the Swift mirror of
/// Sources/Agent/format/include/prof_env.h, which says what each one means.
public enum AgentEnvironment: String, CaseIterable, Sendable {
  case agentFD = "PROF_AGENT_FD"
  case agentContinues = "PROF_AGENT_CONTINUES"
  case hz = "PROF_HZ"
  case durationNanos = "PROF_DURATION_NS"
  case unwind = "PROF_UNWIND"
  case clock = "PROF_CLOCK"
  case trace = "PROF_TRACE"
  case signal = "PROF_SIGNAL"
  case heapRate = "PROF_HEAP_RATE"
  case children = "PROF_CHILDREN"
  case blockRate = "PROF_BLOCK_RATE"
  case mutexFraction = "PROF_MUTEX_FRACTION"
  case lockWaitNanos = "PROF_LOCK_WAIT_NS"
  case asyncStacks = "PROF_ASYNC_STACKS"

  /// The variable's name, a key of the program's environment.
  public var name: String { rawValue }
}
