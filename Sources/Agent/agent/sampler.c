// Per-thread CPU timers and the SIGPROF handler. Each thread gets its own
// CLOCK_THREAD_CPUTIME_ID timer aimed at it (SIGEV_THREAD_ID), as Go does since
// golang/go#35057: a process-wide setitimer under-samples parallel work.
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
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
  pid_t tid;
  bool in_handler;
  bool has_timer;
  timer_t timer;
};
static __thread struct thread_state self __attribute__((tls_model("initial-exec")));

static bool sampler_started;
static pthread_key_t exit_key;  // its destructor runs when a thread we started exits
static int (*real_pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
static int (*real_pthread_setname_np)(pthread_t, const char *);

static pid_t current_tid(void) {
  if (self.tid == 0) self.tid = (pid_t)syscall(SYS_gettid);
  return self.tid;
}

// --- the handler -----------------------------------------------------------

static void record_sample(int overruns, void *ucontext) {
  uint64_t started = prof_now_ns(CLOCK_MONOTONIC);
  // The ASYNC record is reserved first so that it reaches prof just before its
  // SAMPLE; the writer drops it when it stays empty.
  uint64_t async_ticket = 0;
  struct prof_async_record *async =
      prof_config.async_stacks && prof_async_possible() ? prof_ring_reserve(&async_ticket) : NULL;
  if (async) {
    async->header = (struct prof_record_header){PROF_REC_ASYNC, offsetof(struct prof_async_record, entries)};
    async->count = 0;
  }
  uint64_t ticket;
  struct prof_sample_record *sample = prof_ring_reserve(&ticket);
  if (sample == NULL) {
    if (async) prof_ring_publish(async_ticket);
    atomic_fetch_add_explicit(&prof_counters.dropped, 1, memory_order_relaxed);
    return;
  }
  sample->header.type = PROF_REC_SAMPLE;
  sample->tid = (uint32_t)current_tid();
  sample->weight = 1 + (uint32_t)(overruns > 0 ? overruns : 0);
  sample->monotonic_ns = started;
  sample->thread_cpu_ns = prof_config.tracing ? prof_now_ns(CLOCK_THREAD_CPUTIME_ID) : 0;
  uint32_t async_count = 0;
  sample->depth = prof_unwind(ucontext, sample->frames, PROF_MAX_FRAMES, &sample->truncated,
                              async ? async->entries : NULL, &async_count);
  sample->header.size = (uint32_t)(offsetof(struct prof_sample_record, frames) + 8 * sample->depth);
  if (async) {
    async->header.size = (uint32_t)(offsetof(struct prof_async_record, entries) + sizeof *async->entries * async_count);
    async->tid = sample->tid;
    async->count = async_count;
    async->monotonic_ns = started;
    prof_ring_publish(async_ticket);
  }
  prof_ring_publish(ticket);
  atomic_fetch_add_explicit(&prof_counters.samples, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&prof_counters.frames, sample->depth, memory_order_relaxed);
  atomic_fetch_add_explicit(&prof_counters.handler_ns, prof_now_ns(CLOCK_MONOTONIC) - started,
                            memory_order_relaxed);
}

// Every signal of ours ends up counted as a sample or as dropped.
static void take_sample(int overruns, void *ucontext) {
  atomic_fetch_add_explicit(&prof_counters.taken, 1, memory_order_relaxed);
  if (self.in_handler) {
    atomic_fetch_add_explicit(&prof_counters.dropped, 1, memory_order_relaxed);
    return;
  }
  self.in_handler = true;
  record_sample(overruns, ucontext);
  if (prof_config.clock == PROF_CLOCK_WALL) prof_wall_sample_taken(current_tid());
  self.in_handler = false;
}

// Ours: our timers' signals in cpu mode, the ticker's tagged ones in wall mode.
static bool is_our_signal(const siginfo_t *info) {
  if (prof_config.clock == PROF_CLOCK_CPU) return info->si_code == SI_TIMER;
  return info->si_code == SI_QUEUE && info->si_value.sival_int == PROF_WALL_SIGNAL_TAG &&
         info->si_pid == getpid();
}

static void on_sigprof(int signal, siginfo_t *info, void *ucontext) {
  int saved_errno = errno;
  if (!is_our_signal(info)) {
    atomic_fetch_add_explicit(&prof_counters.foreign_signals, 1, memory_order_relaxed);
    prof_signal_chain(signal, info, ucontext);
  } else if (atomic_load_explicit(&prof_sampling, memory_order_relaxed)) {
    take_sample(info->si_overrun, ucontext);
  }  // else stopped: late signals from timers still armed are ignored
  errno = saved_errno;
}

// --- timers ----------------------------------------------------------------

// The first expiry is random in (0, period] so that threads shorter than one
// period are still sampled in proportion to their CPU time.
static struct timespec first_expiry(uint64_t period_ns) {
  uint64_t seed = prof_now_ns(CLOCK_MONOTONIC) ^ ((uint64_t)current_tid() << 32);
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
  if (timer_settime(*timer, 0, &spec, NULL) != 0) {
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
  emit_thread(current_tid(), name);
}

// Reads /proc/self/task/TID/LEAF with plain syscalls (this also runs on the way
// out of _exit) into text, NUL-terminated; returns its length, 0 if unreadable.
size_t prof_read_task_file(pid_t tid, const char *leaf, char *text, size_t size) {
  char path[64] = "/proc/self/task/";
  char digits[16];
  int count = 0;
  do digits[count++] = (char)('0' + tid % 10); while ((tid /= 10) > 0);
  size_t length = strlen(path);
  while (count > 0) path[length++] = digits[--count];
  path[length++] = '/';
  strncpy(path + length, leaf, sizeof path - length - 1);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, text, size - 1);
  close(fd);
  text[n > 0 ? n : 0] = 0;
  return n > 0 ? (size_t)n : 0;
}

void prof_read_comm(pid_t tid, char name[PROF_THREAD_NAME_LEN]) {
  memset(name, 0, PROF_THREAD_NAME_LEN);
  size_t n = prof_read_task_file(tid, "comm", name, PROF_THREAD_NAME_LEN);
  if (n > 0 && name[n - 1] == '\n') name[n - 1] = 0;
}

// Calls visit for every thread of the process, via getdents64 (no malloc).
void prof_for_each_task(void (*visit)(pid_t)) {
  int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  char buffer[4096];
  long n;
  while ((n = syscall(SYS_getdents64, fd, buffer, sizeof buffer)) > 0) {
    for (long offset = 0; offset < n;) {
      struct dirent64 *entry = (struct dirent64 *)(buffer + offset);
      offset += entry->d_reclen;
      pid_t tid = (pid_t)atoi(entry->d_name);
      if (tid > 0) visit(tid);
    }
  }
  close(fd);
}

static void emit_named_task(pid_t tid) {
  char name[PROF_THREAD_NAME_LEN];
  prof_read_comm(tid, name);
  if (name[0]) emit_thread(tid, name);  // empty: it exited meanwhile; keep what we had
}

// At the end: every live thread's final name, and which of them block our signal.
static void emit_final_task_state(pid_t tid) {
  emit_named_task(tid);
  if (sampler_started && !prof_is_agent_thread(tid)) prof_signal_report_if_blocked(tid);
}

void prof_sampler_emit_live_threads(void) { prof_for_each_task(emit_final_task_state); }

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
  take_sample(0, &context);
}

static void on_thread_exit(void *unused) {
  (void)unused;
  if (self.has_timer && atomic_load_explicit(&prof_sampling, memory_order_relaxed)) take_overdue_sample();
  if (self.has_timer) timer_delete(self.timer);
  self.has_timer = false;
  emit_current_thread();  // the final name, after any renaming
  prof_signal_report_if_blocked(current_tid());
}

static void start_sampling_current_thread(void) {
  prof_unwind_thread_started();
  if (prof_config.clock == PROF_CLOCK_CPU)
    self.has_timer = arm_timer(current_tid(), CLOCK_THREAD_CPUTIME_ID, &self.timer);
  pthread_setspecific(exit_key, &self);  // any non-NULL value: the destructor runs
  emit_current_thread();
}

static void adopt_existing_task(pid_t tid) {
  timer_t timer;
  if (tid == current_tid() || prof_is_agent_thread(tid)) return;
  if (prof_config.clock == PROF_CLOCK_CPU) arm_timer(tid, prof_thread_cpu_clock(tid), &timer);
  emit_named_task(tid);
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
    emit_thread(current_tid(), name);
  return result;
}

__attribute__((constructor(101))) static void resolve_real_functions(void) {
  real_pthread_create = dlsym(RTLD_NEXT, "pthread_create");
  real_pthread_setname_np = dlsym(RTLD_NEXT, "pthread_setname_np");
}

static bool sample_every_thread(void) {
  atomic_store(&prof_sampling, true);
  start_sampling_current_thread();
  prof_for_each_task(adopt_existing_task);
  return prof_config.clock == PROF_CLOCK_CPU || prof_sampler_start_wall_ticker();
}

bool prof_sampler_start(void) {
  if (pthread_key_create(&exit_key, on_thread_exit) != 0) return false;
  if (!prof_signal_install(on_sigprof)) return false;
  sampler_started = true;
  return sample_every_thread();
}

// Runs in the fork child handler, single-threaded. The handler and the exit key
// were inherited; timers were not, and the forking thread has a new tid.
void prof_sampler_restart_in_child(void) {
  self = (struct thread_state){0};
  if (!sampler_started) return;
  atomic_store(&prof_ticker_tid, 0);
  sample_every_thread();
}
