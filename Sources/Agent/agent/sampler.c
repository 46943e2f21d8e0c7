// Per-thread CPU timers and the SIGPROF handler. Each thread gets its own
// CLOCK_THREAD_CPUTIME_ID timer aimed at it (SIGEV_THREAD_ID), as Go does since
// golang/go#35057: a process-wide setitimer under-samples parallel work.
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "agent.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

struct thread_state {
  bool has_timer;
  timer_t timer;
};
static __thread struct thread_state self __attribute__((tls_model("initial-exec")));

// Every timer armed, so that the end of a control-channel window can disarm them
// all; thread context only (thread start and exit, the control thread).
#define MAX_TIMERS 16384
static struct armed_timer {
  pid_t tid;
  timer_t timer;
} armed[MAX_TIMERS];
static size_t armed_count;
static pthread_mutex_t armed_lock = PTHREAD_MUTEX_INITIALIZER;

static bool sampler_started;
static bool exit_key_created;
static pthread_key_t exit_key;  // its destructor runs when a thread we started exits
static int (*real_pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
static int (*real_pthread_setname_np)(pthread_t, const char *);

// --- timers ----------------------------------------------------------------

// The first expiry is random in (0, period] so that threads shorter than one
// period are still sampled in proportion to their CPU time.
static struct timespec first_expiry(uint64_t period_ns) {
  uint64_t seed = prof_now_ns(CLOCK_MONOTONIC) ^ ((uint64_t)prof_current_tid() << 32);
  seed ^= seed >> 33;
  seed *= 0xff51afd7ed558ccdULL;
  seed ^= seed >> 33;
  uint64_t ns = 1 + seed % period_ns;
  return (struct timespec){(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
}

static bool arm_timer(pid_t tid, clockid_t clock, timer_t *timer) {
  struct sigevent event;
  memset(&event, 0, sizeof event);
  event.sigev_notify = SIGEV_THREAD_ID;
  event.sigev_signo = prof_config.signal;
  event.sigev_notify_thread_id = tid;
  if (timer_create(clock, &event, timer) != 0) return false;
  uint64_t period_ns = 1000000000u / prof_config.hz;
  struct itimerspec spec = {
      .it_interval = {(time_t)(period_ns / 1000000000u), (long)(period_ns % 1000000000u)},
      .it_value = first_expiry(period_ns),
  };
  pthread_mutex_lock(&armed_lock);
  bool kept = armed_count < MAX_TIMERS && timer_settime(*timer, 0, &spec, NULL) == 0;
  if (kept) armed[armed_count++] = (struct armed_timer){tid, *timer};
  pthread_mutex_unlock(&armed_lock);
  if (!kept) {
    timer_delete(*timer);
    return false;
  }
  atomic_fetch_add_explicit(&prof_counters.threads, 1, memory_order_relaxed);
  return true;
}

// --- thread names ----------------------------------------------------------

static void emit_thread(pid_t tid, const char *name) {
  uint64_t ticket;
  struct prof_thread_record *record = prof_ring_reserve_waiting(&ticket);
  if (record == NULL) return;
  memset(record, 0, sizeof *record);
  record->header = (struct prof_record_header){PROF_REC_THREAD, sizeof *record};
  record->tid = (uint32_t)tid;
  strncpy(record->name, name, PROF_THREAD_NAME_LEN - 1);
  prof_ring_publish(ticket);
}

static void emit_current_thread(void) {
  char name[PROF_THREAD_NAME_LEN] = {0};
  prctl(PR_GET_NAME, name);
  emit_thread(prof_current_tid(), name);
}

void prof_emit_task_name(pid_t tid) {
  char name[PROF_THREAD_NAME_LEN];
  prof_read_comm(tid, name);
  if (name[0]) emit_thread(tid, name);  // empty: it exited meanwhile; keep what we had
}

static void emit_final_task_state(pid_t tid) {
  prof_emit_task_name(tid);
  if (sampler_started && !prof_is_agent_thread(tid)) prof_signal_report_if_blocked(tid);
}

// --- thread lifecycle ------------------------------------------------------

// The kernel fires thread CPU timers at its tick (every 4 ms at 250 Hz), so a
// thread that ends between its timer's expiry and the next tick would take that
// sample with it: short-lived threads would be under-sampled several times over.
// The kernel reports such an overdue timer as 1 ns from expiry; take its sample
// here, on the way out. (A tick landing between the check and timer_delete can
// count it twice; the window is microseconds against a 4 ms tick.)
static void take_overdue_sample(void) {
  struct itimerspec left;
  if (timer_gettime(self.timer, &left) != 0 || left.it_value.tv_sec != 0 || left.it_value.tv_nsec != 1) return;
  ucontext_t context;
  getcontext(&context);
  prof_take_sample(0, &context);
}

// Deletes tid's timer, unless the end of a window deleted it already. true: it was armed.
static bool disarm(pid_t tid) {
  bool found = false;
  pthread_mutex_lock(&armed_lock);
  for (size_t i = 0; i < armed_count; i++)
    if (armed[i].tid == tid) {
      timer_delete(armed[i].timer);
      armed[i] = armed[--armed_count];
      found = true;
      break;
    }
  pthread_mutex_unlock(&armed_lock);
  return found;
}

static void on_thread_exit(void *unused) {
  (void)unused;
  if (self.has_timer && atomic_load_explicit(&prof_sampling, memory_order_relaxed)) take_overdue_sample();
  if (self.has_timer) disarm(prof_current_tid());
  self.has_timer = false;
  emit_current_thread();  // the final name, after any renaming
  prof_signal_report_if_blocked(prof_current_tid());
}

static void start_sampling_current_thread(void) {
  prof_unwind_thread_started();
  if (prof_config.clock == PROF_CLOCK_CPU)
    self.has_timer = arm_timer(prof_current_tid(), CLOCK_THREAD_CPUTIME_ID, &self.timer);
  pthread_setspecific(exit_key, &self);  // any non-NULL value: the destructor runs
  emit_current_thread();
}

static void adopt_existing_task(pid_t tid) {
  timer_t timer;
  if (tid == prof_current_tid() || prof_is_agent_thread(tid)) return;
  if (prof_config.clock == PROF_CLOCK_CPU) arm_timer(tid, prof_thread_cpu_clock(tid), &timer);
  prof_emit_task_name(tid);
}

struct thread_start {
  void *(*routine)(void *);
  void *argument;
};

static void *start_thread(void *raw) {
  struct thread_start start = *(struct thread_start *)raw;
  free(raw);
  if (atomic_load_explicit(&prof_sampling, memory_order_relaxed)) start_sampling_current_thread();
  return start.routine(start.argument);
}

PROF_INTERPOSE int pthread_create(pthread_t *thread, const pthread_attr_t *attributes,
                   void *(*routine)(void *), void *argument) {
  if (!atomic_load_explicit(&prof_sampling, memory_order_relaxed))
    return real_pthread_create(thread, attributes, routine, argument);
  struct thread_start *start = malloc(sizeof *start);
  if (start == NULL) return real_pthread_create(thread, attributes, routine, argument);
  *start = (struct thread_start){routine, argument};
  int result = real_pthread_create(thread, attributes, start_thread, start);
  if (result != 0) free(start);
  return result;
}

PROF_INTERPOSE int pthread_setname_np(pthread_t thread, const char *name) {
  int result = real_pthread_setname_np(thread, name);
  if (result == 0 && pthread_equal(thread, pthread_self()) &&
      atomic_load_explicit(&prof_sampling, memory_order_relaxed))
    emit_thread(prof_current_tid(), name);
  return result;
}

__attribute__((constructor(101))) static void resolve_real_functions(void) {
  real_pthread_create = dlsym(RTLD_NEXT, "pthread_create");
  real_pthread_setname_np = dlsym(RTLD_NEXT, "pthread_setname_np");
}

static bool sample_every_thread(void) {
  atomic_store(&prof_sampling, true);
  // A window starts on the control thread, which blocks every signal: a timer of
  // its own would leave a SIGPROF pending there for good, and the handler with it.
  if (!prof_is_agent_thread(prof_current_tid())) start_sampling_current_thread();
  prof_for_each_task(adopt_existing_task);
  return prof_config.clock == PROF_CLOCK_CPU || prof_sampler_start_wall_ticker();
}

static void start(void) {
  if (prof_config.hz == 0) return;
  if (!exit_key_created && pthread_key_create(&exit_key, on_thread_exit) != 0) return;
  exit_key_created = true;
  if (!prof_signal_install()) return;
  sampler_started = true;
  sample_every_thread();
}

// A control-channel window ended (sampling is off): no timer of ours stays
// armed, and the signal goes back to the program. Threads find their timer gone
// when they exit.
static void end_window(void) {
  if (!sampler_started) return;
  sampler_started = false;
  pthread_mutex_lock(&armed_lock);
  for (size_t i = 0; i < armed_count; i++) timer_delete(armed[i].timer);
  armed_count = 0;
  pthread_mutex_unlock(&armed_lock);
  self.has_timer = false;
  prof_signal_uninstall();
}

// At the end: every live thread's final name, and which of them block our signal.
static void before_end(void) { prof_for_each_task(emit_final_task_state); }

// A followed forked child, its writer running. The handler and the exit key were
// inherited; timers were not, and the forking thread has a new tid.
static void child_started(void) {
  self = (struct thread_state){0};
  if (!sampler_started) return;
  atomic_store(&prof_ticker_tid, 0);
  sample_every_thread();
}

// Every forked child: the forking thread has a new tid.
static void fork_child(bool followed) {
  (void)followed;
  prof_forget_current_tid();
}

__attribute__((constructor(101))) static void register_sampler(void) {
  static const struct prof_subsystem sampler = {
      .start = start, .before_end = before_end, .fork_child = fork_child, .child_started = child_started,
      .end_window = end_window};
  prof_lifecycle_register(&sampler);
}
