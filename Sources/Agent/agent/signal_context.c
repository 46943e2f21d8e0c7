// Everything that runs in signal context, in one place: the sampling signal's
// handler (ours, or the program's action for signals we did not send) and the
// fatal-signal handler that flushes before the program dies. What these call is
// marked async-signal-safe where it is declared: no malloc, no locks that thread
// context may hold while being interrupted.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"

static __thread pid_t thread_id __attribute__((tls_model("initial-exec")));
static __thread bool in_handler __attribute__((tls_model("initial-exec")));

pid_t prof_current_tid(void) {
  if (thread_id == 0) thread_id = (pid_t)syscall(SYS_gettid);
  return thread_id;
}

void prof_forget_current_tid(void) { thread_id = 0; }

// --- our samples -----------------------------------------------------------

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
  sample->tid = (uint32_t)prof_current_tid();
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
void prof_take_sample(int overruns, void *ucontext) {
  atomic_fetch_add_explicit(&prof_counters.taken, 1, memory_order_relaxed);
  if (in_handler) {
    atomic_fetch_add_explicit(&prof_counters.dropped, 1, memory_order_relaxed);
    return;
  }
  in_handler = true;
  record_sample(overruns, ucontext);
  if (prof_config.clock == PROF_CLOCK_WALL) prof_wall_sample_taken(prof_current_tid());
  in_handler = false;
}

// Ours: our timers' signals in cpu mode, the ticker's tagged ones in wall mode.
static bool is_our_signal(const siginfo_t *info) {
  if (prof_config.clock == PROF_CLOCK_CPU) return info->si_code == SI_TIMER;
  return info->si_code == SI_QUEUE && info->si_value.sival_int == PROF_WALL_SIGNAL_TAG &&
         info->si_pid == getpid();
}

// --- the program's action for the sampling signal ----------------------------

// A change fills the slot not in use and then publishes it, so the handler never
// reads a half-written action. (Two threads changing it at once race as two
// sigaction calls of the program would: either may win.)
static struct sigaction program_actions[2];
static struct sigaction *_Atomic program_action;
static void (*flush_before_death)(void);  // the lifecycle's crash flush
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);

// Resolved on first use, in thread context: another preloaded library's constructor
// may call sigaction before ours runs, and every handler is installed through here.
int prof_real_sigaction(int signal, const struct sigaction *action, struct sigaction *old) {
  if (real_sigaction == NULL) real_sigaction = dlsym(RTLD_NEXT, "sigaction");
  return real_sigaction(signal, action, old);
}

const struct sigaction *prof_program_action(void) { return atomic_load(&program_action); }

void prof_program_action_set(const struct sigaction *action) {
  struct sigaction *current = atomic_load(&program_action);
  struct sigaction *next = current == &program_actions[0] ? &program_actions[1] : &program_actions[0];
  *next = *action;
  atomic_store(&program_action, next);
}

static bool default_is_ignore(int signal) {
  return signal == SIGCHLD || signal == SIGCONT || signal == SIGURG || signal == SIGWINCH;
}

// The default action, as if the agent were not there: the signal is delivered
// again with SIG_DFL in place (a SIGPROF from the program's own setitimer kills it,
// exit 155). What was recorded is flushed first, as for a crash. If the default
// stopped the process rather than ending it, our handler goes back in.
static void take_default_action(int signal) {
  if (default_is_ignore(signal)) return;
  if (flush_before_death) flush_before_death();
  struct sigaction fallback, ours;
  memset(&fallback, 0, sizeof fallback);
  fallback.sa_handler = SIG_DFL;
  prof_real_sigaction(signal, &fallback, &ours);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, signal);
  syscall(SYS_tgkill, getpid(), prof_current_tid(), signal);
  pthread_sigmask(SIG_UNBLOCK, &only, NULL);  // delivered here, unless the default stops us
  prof_real_sigaction(signal, &ours, NULL);
}

static void give_to_program(int signal, siginfo_t *info, void *context) {
  const struct sigaction *action = prof_program_action();
  if (action == NULL || action->sa_handler == SIG_DFL) take_default_action(signal);
  else if (action->sa_handler == SIG_IGN) return;
  else if (action->sa_flags & SA_SIGINFO) action->sa_sigaction(signal, info, context);
  else action->sa_handler(signal);
}

static void on_sampling_signal(int signal, siginfo_t *info, void *ucontext) {
  int saved_errno = errno;
  if (!is_our_signal(info)) {
    atomic_fetch_add_explicit(&prof_counters.foreign_signals, 1, memory_order_relaxed);
    give_to_program(signal, info, ucontext);
  } else if (atomic_load_explicit(&prof_sampling, memory_order_relaxed)) {
    prof_take_sample(info->si_overrun, ucontext);
  }  // else stopped: late signals from timers still armed are ignored
  errno = saved_errno;
}

// replaced: the program's action, if a constructor of its libraries set one first.
bool prof_sampling_handler_install(struct sigaction *replaced) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_sampling_signal;
  action.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  return prof_real_sigaction(prof_config.signal, &action, replaced) == 0;
}

// --- fatal signals -----------------------------------------------------------

// Not SIGTRAP: debuggers own it. The sampling signal is handled above.
static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
#define FATAL_COUNT (sizeof fatal_signals / sizeof *fatal_signals)
static struct sigaction before_ours[FATAL_COUNT];

// Flushes what the agent holds (it would otherwise lose up to one flush interval),
// then lets the signal take its course: the program's handler or the default.
static void on_fatal_signal(int signal, siginfo_t *info, void *context) {
  (void)context;
  if (flush_before_death) flush_before_death();
  for (size_t i = 0; i < FATAL_COUNT; i++)
    if (fatal_signals[i] == signal) prof_real_sigaction(signal, &before_ours[i], NULL);
  // A fault recurs when the instruction runs again; a sent signal (kill, abort)
  // must be sent again. Either way it meets the restored action.
  if (info->si_code <= 0) raise(signal);
}

void prof_fatal_handlers_install(void (*flush)(void)) {
  flush_before_death = flush;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_fatal_signal;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < FATAL_COUNT; i++) prof_real_sigaction(fatal_signals[i], &action, &before_ours[i]);
}
