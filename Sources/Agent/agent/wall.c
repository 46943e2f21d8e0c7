// Wall-clock sampling: a ticker thread visits every thread at the configured
// rate. A thread whose CPU clock moved since the last tick is interrupted for its
// stack; one that did not is blocked, and signalling it would wake an idle event
// loop for nothing (async-profiler PR #1798), so the ticker only notes it idle and
// prof reuses its last stack.
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define TRACKED_THREADS 4096  // more live threads than this are sampled every tick
// CPU time a thread may gain between ticks and still count as idle: what the
// kernel spends delivering our signal and returning from it, after the handler
// read the clock.
#define IDLE_SLACK_NS 20000u

struct tracked_thread {
  _Atomic pid_t tid;
  _Atomic uint64_t cpu_ns;  // at the previous tick or the end of our handler; UINT64_MAX: never sampled
};

static struct tracked_thread tracked[TRACKED_THREADS];
static pid_t process_id;
static uint64_t tick_ns;

// Only the ticker inserts; the handler looks up (insert = false) and never blocks.
static struct tracked_thread *find(pid_t tid, bool insert) {
  for (unsigned probe = 0; probe < 16; probe++) {
    struct tracked_thread *slot = &tracked[((unsigned)tid * 2654435761u + probe) % TRACKED_THREADS];
    pid_t owner = atomic_load(&slot->tid);
    if (owner == tid) return slot;
    if (owner == 0) {
      if (!insert) return NULL;
      atomic_store(&slot->cpu_ns, UINT64_MAX);
      atomic_store(&slot->tid, tid);
      return slot;
    }
  }
  return NULL;
}

void prof_wall_sample_taken(pid_t tid) {
  struct tracked_thread *thread = find(tid, false);
  if (thread) atomic_store(&thread->cpu_ns, prof_now_ns(CLOCK_THREAD_CPUTIME_ID));
}

static void emit_idle(pid_t tid, uint64_t now, uint64_t cpu) {
  uint64_t ticket;
  struct prof_idle_record *idle = prof_ring_reserve(&ticket);
  if (idle == NULL) {
    atomic_fetch_add_explicit(&prof_counters.dropped, 1, memory_order_relaxed);
    return;
  }
  *idle = (struct prof_idle_record){{PROF_REC_IDLE, sizeof *idle}, (uint32_t)tid, 0, now, cpu};
  prof_ring_publish(ticket);
}

void prof_interrupt_thread(pid_t tid) {
  if (process_id == 0) process_id = getpid();
  siginfo_t info;
  memset(&info, 0, sizeof info);
  info.si_signo = prof_config.signal;
  info.si_code = SI_QUEUE;
  info.si_pid = process_id;
  info.si_uid = getuid();
  info.si_value.sival_int = PROF_WALL_SIGNAL_TAG;
  syscall(SYS_rt_tgsigqueueinfo, process_id, tid, prof_config.signal, &info);
}

static void visit(pid_t tid) {
  if (prof_is_agent_thread(tid)) return;
  struct timespec clock_time;
  if (clock_gettime(prof_thread_cpu_clock(tid), &clock_time) != 0) return;  // exited meanwhile
  uint64_t cpu = (uint64_t)clock_time.tv_sec * 1000000000u + (uint64_t)clock_time.tv_nsec;
  struct tracked_thread *thread = find(tid, true);
  uint64_t previous = thread ? atomic_load(&thread->cpu_ns) : UINT64_MAX;
  if (previous != UINT64_MAX && cpu - previous <= IDLE_SLACK_NS) {
    emit_idle(tid, prof_now_ns(CLOCK_MONOTONIC), cpu);
    return;
  }
  // Stored before the signal goes out, so the handler's later store wins.
  if (thread) atomic_store(&thread->cpu_ns, cpu);
  prof_interrupt_thread(tid);
}

static void *ticker_main(void *unused) {
  (void)unused;
  atomic_store(&prof_ticker_tid, (pid_t)syscall(SYS_gettid));
  uint64_t next = prof_now_ns(CLOCK_MONOTONIC);
  while (atomic_load(&prof_sampling)) {
    next += tick_ns;
    struct timespec deadline = {(time_t)(next / 1000000000u), (long)(next % 1000000000u)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
    prof_for_each_task(visit);
  }
  return NULL;
}

bool prof_sampler_start_wall_ticker(void) {
  process_id = getpid();
  tick_ns = 1000000000u / prof_config.hz;
  return prof_start_agent_thread(ticker_main, "prof-ticker", &prof_ticker_tid);
}
