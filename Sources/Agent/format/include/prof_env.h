// The agent's other half of the contract: the environment prof sets for the program.
// The agent is dormant unless PROF_AGENT_FD (or, in a followed child, PROF_CHILDREN)
// is set. Mirrored in Swift by AgentEnvironment (Sources/Capture/TargetLaunch); a test
// checks that both name the same variables.
#ifndef PROF_ENV_H
#define PROF_ENV_H

#define PROF_ENV_AGENT_FD "PROF_AGENT_FD"                // the stream's descriptor: prof's pipe
#define PROF_ENV_AGENT_CONTINUES "PROF_AGENT_CONTINUES"  // 1: an exec'd image goes on with the stream (no header)
#define PROF_ENV_HZ "PROF_HZ"                            // samples per second per thread; 0 or unset in heap mode
#define PROF_ENV_DURATION_NS "PROF_DURATION_NS"          // stop recording after this many ns; unset: at exit
#define PROF_ENV_UNWIND "PROF_UNWIND"                    // "fp": frame pointers; otherwise libunwind
#define PROF_ENV_CLOCK "PROF_CLOCK"                      // "wall": wall-clock sampling; otherwise CPU time
#define PROF_ENV_TRACE "PROF_TRACE"                      // 1: timelines (thread CPU clocks, RSS, ProfTrace events)
#define PROF_ENV_SIGNAL "PROF_SIGNAL"                    // the sampling signal's number; unset: SIGPROF
#define PROF_ENV_HEAP_RATE "PROF_HEAP_RATE"              // heap mode: mean bytes between samples (1: every allocation)
#define PROF_ENV_CHILDREN "PROF_CHILDREN"                // --follow-children: the directory for children's streams
#define PROF_ENV_BLOCK_RATE "PROF_BLOCK_RATE"            // block mode: waits of at least this many ns all kept, shorter ones sampled
#define PROF_ENV_MUTEX_FRACTION "PROF_MUTEX_FRACTION"    // mutex mode: 1 in this many contended releases recorded
#define PROF_ENV_LOCK_WAIT "PROF_LOCK_WAIT_NS"           // trace mode: lock waits at least this long become LOCK_WAIT records
#define PROF_ENV_ASYNC_STACKS "PROF_ASYNC_STACKS"        // 0: no Swift async contexts; otherwise ASYNC records

// Every variable above: a program's children that are not followed lose them all.
#define PROF_ENV_ALL                                                                                 \
  {                                                                                                 \
    PROF_ENV_AGENT_FD, PROF_ENV_AGENT_CONTINUES, PROF_ENV_HZ, PROF_ENV_DURATION_NS, PROF_ENV_UNWIND, \
        PROF_ENV_CLOCK, PROF_ENV_TRACE, PROF_ENV_SIGNAL, PROF_ENV_HEAP_RATE, PROF_ENV_CHILDREN,       \
        PROF_ENV_BLOCK_RATE, PROF_ENV_MUTEX_FRACTION, PROF_ENV_LOCK_WAIT, PROF_ENV_ASYNC_STACKS     \
  }

#endif
