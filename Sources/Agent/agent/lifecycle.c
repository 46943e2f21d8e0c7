// The agent's life: start, the writer thread, the end of the stream, fork, exec
// and death by signal. The agent is inert unless prof set PROF_AGENT_FD: a stray
// LD_PRELOAD of this library does nothing. Subsystems (sampler, heap, ...) take part
// through the hooks they register, never by name.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "heap.h"

#define FLUSH_INTERVAL_NS 50000000u  // what a SIGKILLed target can lose at most

struct prof_counters prof_counters;
_Atomic bool prof_sampling;
_Atomic pid_t prof_writer_tid;
_Atomic pid_t prof_ticker_tid;

static atomic_flag drain_lock = ATOMIC_FLAG_INIT;
static _Atomic bool started;   // the writer runs: there is a stream to finish
static _Atomic bool finished;
static uint64_t started_ns;
static pid_t owner;  // the process whose stream this is: not a vfork child sharing our memory

// One statement (an else after it binds to the caller's if, not to the loop's).
#define EACH_HOOK(hook, ...)                                      \
  do {                                                            \
    for (size_t i = 0; i < prof_subsystem_count; i++)             \
      if (prof_subsystems[i]->hook) prof_subsystems[i]->hook(__VA_ARGS__); \
  } while (0)

// --- the stream ------------------------------------------------------------

static void copy_record(const struct prof_record_header *record) {
  // The handler reserves an ASYNC slot before it knows whether it finds contexts.
  if (record->type == PROF_REC_ASYNC && ((const struct prof_async_record *)record)->count == 0) return;
  prof_output_append(record, record->size);
}

static void append_stats(void) {
  struct prof_stats_record stats = {
      .header = {PROF_REC_STATS, sizeof stats},
      .taken = atomic_load(&prof_counters.taken),
      .samples = atomic_load(&prof_counters.samples),
      .dropped = atomic_load(&prof_counters.dropped),
      .handler_ns = atomic_load(&prof_counters.handler_ns),
      .frames = atomic_load(&prof_counters.frames),
      .foreign_signals = atomic_load(&prof_counters.foreign_signals),
      .threads = atomic_load(&prof_counters.threads),
  };
  prof_output_append(&stats, sizeof stats);
  if (!prof_config.unwind_check || prof_config.unwinder != PROF_UNWIND_HYBRID) return;
  struct prof_notice_record check = {
      .header = {PROF_REC_NOTICE, sizeof check},
      .code = PROF_NOTICE_UNWIND_CHECK,
      .values = {atomic_load(&prof_counters.unwind_checked), atomic_load(&prof_counters.unwind_mismatched)},
  };
  prof_output_append(&check, sizeof check);
  check.code = PROF_NOTICE_UNWIND_CHECK_FRAMES;
  check.values[0] = atomic_load(&prof_counters.frame_pointer_frames);
  check.values[1] = atomic_load(&prof_counters.frames);
  prof_output_append(&check, sizeof check);
}

// Reads /proc/self/statm with plain syscalls; its second field is resident pages.
static void append_rss(void) {
  char text[128];
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t length = read(fd, text, sizeof text - 1);
  close(fd);
  if (length <= 0) return;
  text[length] = 0;
  const char *field = strchr(text, ' ');
  if (field == NULL) return;
  struct prof_rss_record rss = {
      .header = {PROF_REC_RSS, sizeof rss},
      .monotonic_ns = prof_now_ns(CLOCK_MONOTONIC),
      .rss_bytes = strtoull(field + 1, NULL, 10) * (uint64_t)sysconf(_SC_PAGESIZE),
  };
  prof_output_append(&rss, sizeof rss);
}

static void lock_drain(void) {
  while (atomic_flag_test_and_set_explicit(&drain_lock, memory_order_acquire)) sched_yield();
}

static void unlock_drain(void) { atomic_flag_clear_explicit(&drain_lock, memory_order_release); }

static void flush_records(void) {
  prof_ring_drain(copy_record);
  if (prof_config.tracing) append_rss();
  EACH_HOOK(append_records);
  append_stats();
  if (!prof_output_flush()) atomic_store(&prof_sampling, false);
}

// Modules first, so that every sample's addresses are covered when prof reads it.
static void drain_and_flush(void) {
  prof_modules_emit_if_changed();
  flush_records();
}

// Stops sampling and writes everything still buffered, then the end marker. Runs
// once: from exit, _exit, the end of --duration, whichever comes first.
static void finish_stream(enum prof_end_reason reason, bool window) {
  if (!atomic_load(&started) || atomic_exchange(&finished, true)) return;
  atomic_store(&prof_sampling, false);
  lock_drain();
  EACH_HOOK(before_end);
  drain_and_flush();
  // A window's END tells the client the program is as it was: timers gone, the
  // signal the program's again. The process goes on, dormant (heap tracking too).
  if (window) EACH_HOOK(end_window);
  struct prof_end_record end = {{PROF_REC_END, sizeof end}, reason, 0};
  prof_output_append(&end, sizeof end);
  prof_output_flush();
  unlock_drain();
  if (!window) EACH_HOOK(stop);
}

static void finish(enum prof_end_reason reason) { finish_stream(reason, false); }

// The program is about to die of a signal. Async-signal-safe; without the modules,
// since the crash may have happened inside the loader, holding its lock; skipped if
// the writer is flushing (that thread is frozen halfway through a record).
static void flush_before_death(void) {
  if (!atomic_load(&started) || atomic_load(&finished) || getpid() != owner) return;
  if (atomic_flag_test_and_set_explicit(&drain_lock, memory_order_acquire)) return;
  flush_records();
  unlock_drain();
}

// exec replaces the process image: what is buffered must reach prof first (in heap
// and contention mode, the latest counts of every bucket that changed). The new
// image goes on with the stream, in every mode; the drain lock stays held until the
// exec (or its failure): the writer must not be cut off halfway through a record.
// Returns the stream to hand over, or -1.
int prof_flush_before_exec(void) {
  // A vfork child runs here on its parent's memory: it must not touch the stream.
  if (!atomic_load(&started) || atomic_load(&finished) || getpid() != owner) return -1;
  lock_drain();
  if (!atomic_load(&finished)) drain_and_flush();
  if (atomic_load(&finished)) {
    unlock_drain();
    return -1;
  }
  return prof_config.fd;
}

void prof_exec_failed(void) { unlock_drain(); }

uint64_t prof_remaining_duration_ns(void) {
  if (prof_config.duration_ns == 0) return 0;
  uint64_t elapsed = prof_now_ns(CLOCK_MONOTONIC) - started_ns;
  return elapsed < prof_config.duration_ns ? prof_config.duration_ns - elapsed : 1;
}

static void *writer_main(void *unused) {
  (void)unused;
  atomic_store(&prof_writer_tid, (pid_t)syscall(SYS_gettid));
  const struct timespec interval = {0, FLUSH_INTERVAL_NS};
  while (!atomic_load(&finished)) {
    clock_nanosleep(CLOCK_MONOTONIC, 0, &interval, NULL);
    if (prof_config.duration_ns && prof_now_ns(CLOCK_MONOTONIC) - started_ns >= prof_config.duration_ns) {
      finish(PROF_END_DURATION);
      break;
    }
    prof_window_flush();
  }
  return NULL;
}

static void write_start_record(void) {
  struct prof_start_record start = {
      .header = {PROF_REC_START, sizeof start},
      .pid = (uint32_t)getpid(),
      .hz = prof_config.hz,
      .realtime_ns = prof_now_ns(CLOCK_REALTIME),
      .monotonic_ns = started_ns,
  };
  uint64_t magic[2] = {PROF_STREAM_MAGIC, PROF_STREAM_VERSION};
  if (!prof_config.continuing) prof_output_append(magic, sizeof magic);
  prof_output_append(&start, sizeof start);
  prof_modules_emit_if_changed();  // now: a crash's last flush cannot ask the loader
  prof_output_flush();
}

// Fork. A followed child's writer starts from a clean state: the parent's writer
// is not halfway through a flush (or inside the loader) when the process is copied.
// The loader last: a writer holding the drain lock may be waiting to enter it.
static void prepare_fork(void) {
  if (prof_children_followed()) lock_drain();
  EACH_HOOK(fork_prepare);
  prof_loader_fork_prepare();
}

static void after_fork_in_parent(void) {
  prof_loader_fork_parent();
  EACH_HOOK(fork_parent);
  if (prof_children_followed()) unlock_drain();
}

// The child has only the forking thread: no timers, no writer, and the parent's
// stream, which it must not touch. Followed (--follow-children), it starts its own
// stream in its own file, with its own ring and counters; otherwise the agent stays
// dormant. Runs single-threaded, before fork returns.
static void restart_in_child(void) {
  prof_loader_fork_child();
  atomic_store(&prof_sampling, false);
  close(prof_config.fd);  // prof sees the parent's stream end when the parent's image does
  bool live = atomic_load(&started) && !atomic_load(&finished);
  int fd = live ? prof_children_open_stream() : -1;
  EACH_HOOK(fork_child, fd >= 0);
  if (fd < 0) {
    atomic_store(&finished, true);
    return;
  }
  unlock_drain();  // taken by prepare_fork
  prof_config.fd = fd;
  prof_config.continuing = false;  // a new file: it starts with the header, even if this image continued prof's pipe
  prof_config.duration_ns = prof_remaining_duration_ns();  // --duration counts from the run's start
  owner = getpid();
  prof_ring_reset();
  memset(&prof_counters, 0, sizeof prof_counters);
  prof_output_begin();
  prof_modules_resend_cached();  // not dl_iterate_phdr: the parent may have held the loader's lock at fork
  started_ns = prof_now_ns(CLOCK_MONOTONIC);
  write_start_record();
  atomic_store(&prof_writer_tid, 0);
  prof_start_agent_thread(writer_main, "prof-writer", &prof_writer_tid);
  EACH_HOOK(child_started);
}

static void start_agent(void) {
  if (!prof_config_read()) {
    if (!prof_config_is_dormant()) return;
    // A child stops heap tracking (no thread of the parent holds a table lock in
    // it) and closes a window's socket, as a child of a streaming agent does.
    pthread_atfork(prepare_fork, after_fork_in_parent, restart_in_child);
    prof_contention_start_dormant();
    prof_control_start();
    return;
  }
  prof_output_begin();
  owner = getpid();
  prof_config_scrub_environment();
  started_ns = prof_now_ns(CLOCK_MONOTONIC);
  if (!prof_ring_init()) return;
  bool can_unwind = prof_unwind_init();
  if (prof_config.async_stacks) prof_async_init();
  write_start_record();
  if (!can_unwind) prof_emit_notice(PROF_NOTICE_UNWINDER_UNAVAILABLE, 0, 0);
  pthread_atfork(prepare_fork, after_fork_in_parent, restart_in_child);
  if (!prof_start_agent_thread(writer_main, "prof-writer", &prof_writer_tid)) return;
  atomic_store(&started, true);
  if (!can_unwind) return;  // dormant; the stream says why
  prof_fatal_handlers_install(flush_before_death);
  EACH_HOOK(start);
}

// --- control-channel windows (control.c) -------------------------------------

// A window is a stream like prof's pipe, on the control socket: prof_config says
// what to record. with_subsystems false: only START, what the caller puts in the
// ring (the thread dump), STATS and END. No writer thread: the control thread
// flushes. No crash handlers: a crash loses at most one flush interval.
bool prof_window_begin(bool with_subsystems) {
  prof_output_begin();
  owner = getpid();
  started_ns = prof_now_ns(CLOCK_MONOTONIC);
  memset(&prof_counters, 0, sizeof prof_counters);
  prof_modules_forget();
  prof_frame_pointer_map_note_new_module();  // an earlier window may have met the modules without hybrid
  if (!prof_ring_init()) return false;
  bool can_unwind = prof_unwind_init();
  write_start_record();
  if (!can_unwind) prof_emit_notice(PROF_NOTICE_UNWINDER_UNAVAILABLE, 0, 0);
  atomic_store(&finished, false);
  atomic_store(&started, true);
  if (can_unwind && with_subsystems) EACH_HOOK(start);
  return can_unwind;
}

// The writer's flush, and a window's on the control thread (which has no writer).
void prof_window_flush(void) {
  lock_drain();
  if (!atomic_load(&finished)) drain_and_flush();
  unlock_drain();
  if (atomic_load(&prof_sampling)) prof_frame_pointer_map_scan();
}

// Ends the stream (END reason 2: the target runs on), then every subsystem undoes
// what its start did. false: the program ended the stream first (it is exiting).
bool prof_window_end(void) {
  if (atomic_load(&finished)) return false;
  finish_stream(PROF_END_DURATION, true);
  atomic_store(&started, false);
  return true;
}

// Heap mode may already track (heap.c): what the agent allocates while it starts
// (dlopen, pthread_atfork, setenv) is not the program's.
__attribute__((constructor(102))) static void prof_agent_start(void) {
  prof_heap_ignore_this_thread();
  start_agent();
  prof_heap_heed_this_thread();
}

__attribute__((destructor)) static void prof_agent_stop(void) { finish(PROF_END_EXIT); }

// Programs that leave through _exit skip destructors; flush on the way out.
PROF_INTERPOSE void _exit(int status) {
  finish(PROF_END_EXIT);
  syscall(SYS_exit_group, status);
  __builtin_unreachable();
}

PROF_INTERPOSE void _Exit(int status) { _exit(status); }
