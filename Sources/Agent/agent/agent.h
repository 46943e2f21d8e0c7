// Internal interface between the agent's parts. Everything here is either called
// from the signal handler (marked async-signal-safe) or from ordinary thread context.
#ifndef PROF_AGENT_INTERNAL_H
#define PROF_AGENT_INTERNAL_H

#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "prof_stream.h"

// Marks the libc functions the agent interposes; everything else stays hidden.
#define PROF_INTERPOSE __attribute__((visibility("default")))

// hybrid: frame pointers through functions whose CFI shows they keep them, libunwind elsewhere.
enum prof_unwinder { PROF_UNWIND_LIBUNWIND, PROF_UNWIND_FRAME_POINTERS, PROF_UNWIND_HYBRID };

// cpu: each thread's CPU-time timer interrupts it. wall: a ticker thread samples
// every thread at a wall-clock rate, interrupting only those that ran.
enum prof_clock { PROF_CLOCK_CPU, PROF_CLOCK_WALL };

struct prof_config {
  int fd;                      // where the stream goes (a pipe to prof)
  unsigned hz;                 // samples per second (of CPU or wall time) per thread; 0: none
  enum prof_clock clock;
  bool tracing;                // timelines: thread CPU clocks in samples, ProfTrace events
  enum prof_unwinder unwinder;
  bool unwind_check;           // hybrid: unwind each sample with libunwind too and count stacks that differ
  uint64_t duration_ns;        // 0: record until exit
  int signal;                  // the sampling signal: SIGPROF unless --signal chose another
  uint64_t heap_sample_rate;   // heap mode: mean bytes between samples; 0: not heap mode
  uint64_t block_rate_ns;      // block mode: waits this long all kept, shorter sampled; 0: off
  uint64_t mutex_fraction;     // mutex mode: 1 in this many contended releases; 0: off
  uint64_t lock_wait_ns;       // trace mode: lock waits this long become LOCK_WAIT records; 0: off
  bool continuing;             // this image took over the stream of the image that exec'd it
  char children_directory[PATH_MAX - 32];  // --follow-children; empty otherwise
  bool async_stacks;           // record Swift async contexts with each sample
};

struct prof_counters {
  _Atomic uint64_t taken;  // = samples + dropped, except wall mode's idle records dropped
  _Atomic uint64_t samples;
  _Atomic uint64_t dropped;
  _Atomic uint64_t handler_ns;
  _Atomic uint64_t frames;
  _Atomic uint64_t foreign_signals;
  _Atomic uint64_t threads;
  _Atomic uint64_t unwind_checked;     // unwind_check: stacks compared
  _Atomic uint64_t unwind_mismatched;  // unwind_check: stacks that differed
  _Atomic uint64_t frame_pointer_frames;  // unwind_check: frames hybrid took from frame pointers
};

extern struct prof_config prof_config;
extern struct prof_counters prof_counters;
extern _Atomic bool prof_sampling;  // the handler records only while this is set
extern _Atomic pid_t prof_writer_tid;  // never sampled
extern _Atomic pid_t prof_ticker_tid;  // wall mode's ticker, never sampled
extern _Atomic pid_t prof_control_tid;
static inline bool prof_is_agent_thread(pid_t tid) {
  return tid == prof_writer_tid || tid == prof_ticker_tid || tid == prof_control_tid;
}

// Tags the ticker's SIGPROFs (sigqueue value) so stray signals are told apart.
#define PROF_WALL_SIGNAL_TAG 0x70726f66

static inline uint64_t prof_now_ns(clockid_t clock) {  // async-signal-safe
  struct timespec now;
  clock_gettime(clock, &now);
  return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

// Any thread's CPU clock id, built from its tid (Linux's MAKE_THREAD_CPUCLOCK with
// CPUCLOCK_SCHED), as async-profiler does.
static inline clockid_t prof_thread_cpu_clock(pid_t tid) { return (clockid_t)((~(unsigned)tid << 3) | 6); }

// lifecycle.c: start, the writer, the end, fork, exec. A subsystem takes part
// through hooks, any of which may be NULL, registered from a constructor of
// priority 101 (the lifecycle starts at 102).
struct prof_subsystem {
  void (*start)(void);            // the stream and its writer run
  void (*append_records)(void);   // each flush, drain lock held; also from a fatal signal: async-signal-safe
  void (*before_end)(void);       // the last flush follows: final records into the ring
  void (*stop)(void);             // the stream has ended
  void (*fork_prepare)(void);
  void (*fork_parent)(void);
  void (*fork_child)(bool followed);  // single-threaded, before a followed child's writer starts
  void (*child_started)(void);        // a followed child's writer runs
  void (*end_window)(void);           // a control-channel window ended: undo start (timers, handler)
};
void prof_lifecycle_register(const struct prof_subsystem *subsystem);  // hooks.c
extern const struct prof_subsystem *prof_subsystems[];
extern size_t prof_subsystem_count;
int prof_flush_before_exec(void);  // the stream fd when the next image continues it, else -1
void prof_exec_failed(void);       // after prof_flush_before_exec returned a stream
uint64_t prof_remaining_duration_ns(void);
bool prof_window_begin(bool with_subsystems);  // false: nothing can be recorded (START and a NOTICE were sent)
void prof_window_flush(void);
bool prof_window_end(void);  // false: the program's exit ended the stream already

// control.c: the dormant agent's control channel (STREAM.md, "Control channel").
void prof_control_start(void);

// config.c: the environment prof set (prof_env.h).
bool prof_config_read(void);              // false: dormant
// Heap and contention mode aggregate in the target: no CPU samples (an exec'd image's
// agent counts from zero again, in a new START: STREAM.md, "Exec").
static inline bool prof_config_aggregates(void) {
  return prof_config.heap_sample_rate > 0 || prof_config.block_rate_ns > 0 || prof_config.mutex_fraction > 0;
}
void prof_contention_start_dormant(void);  // contention.c: `prof run --block/--mutex`
bool prof_config_is_dormant(void);        // loaded without prof's stream: the control channel may start
uint64_t prof_config_requested_heap_rate(void);  // heap mode's rate from the environment, before it is read
void prof_config_scrub_environment(void);  // the program's children do not inherit the agent

// agent_thread.c
bool prof_start_agent_thread(void *(*main)(void *), const char *name, _Atomic pid_t *tid);

// signal_context.c: every handler, and what they share with thread context.
pid_t prof_current_tid(void);               // async-signal-safe
void prof_forget_current_tid(void);         // a forked child's thread has a new tid
void prof_take_sample(int overruns, void *ucontext);  // async-signal-safe
bool prof_sampling_handler_install(struct sigaction *replaced);
const struct sigaction *prof_program_action(void);  // the program's action for the sampling signal
void prof_program_action_set(const struct sigaction *action);
int prof_real_sigaction(int signal, const struct sigaction *action, struct sigaction *old);
void prof_fatal_handlers_install(void (*flush)(void));  // flush: async-signal-safe, before the program dies

// children.c: --follow-children (PROF_CHILDREN=DIR), whatever the mode.
bool prof_children_followed(void);
int prof_children_open_stream(void);  // this process image's own file in DIR; -1 unless following

// ring.c: a bounded lock-free multi-producer, single-consumer queue of records.
bool prof_ring_init(void);
void prof_ring_reset(void);  // a forked child: the parent's records, whole or half-written, are not its own
void *prof_ring_reserve(uint64_t *ticket);  // async-signal-safe; NULL when full
void prof_ring_publish(uint64_t ticket);    // async-signal-safe
void *prof_ring_reserve_waiting(uint64_t *ticket);  // thread context: waits for room
size_t prof_ring_drain(void (*consume)(const struct prof_record_header *));

// output.c: buffered writes to the stream fd, used by one thread at a time.
void prof_output_append(const void *bytes, size_t length);
bool prof_output_flush(void);
void prof_output_begin(void);  // the stream is prof_config.fd, from now on (a forked child: its own)

// async_context.c: Swift async contexts and their resume chains, for the handler.
#define PROF_ASYNC_MAX_TRIES 8  // distinct candidate values read per sample
struct prof_async_capture {
  struct prof_async_entry *entries;  // PROF_ASYNC_MAX_ENTRIES of room
  uint32_t count;
  uint32_t tries;
  uint64_t last_register;
  uintptr_t stack_low, stack_high;  // contexts are never here
  // Staged by the unwinder per frame, followed by prof_async_finish.
  uint64_t registers[PROF_MAX_FRAMES];
  uint64_t slots[PROF_MAX_FRAMES];
  uint8_t known[PROF_MAX_FRAMES];  // bit 1 << kind: registers/slots[frame] is set
  pid_t pid;
  struct {
    uint64_t value;
    bool led_somewhere;
  } tried[PROF_ASYNC_MAX_TRIES];
};
void prof_async_begin(struct prof_async_capture *capture, struct prof_async_entry *entries, uintptr_t stack_low,
                      uintptr_t stack_high);
void prof_async_candidate(struct prof_async_capture *capture, uint32_t frame, enum prof_async_kind kind,
                          uint64_t value);  // async-signal-safe: stages the value only
void prof_async_finish(struct prof_async_capture *capture, const uint64_t *frames, uint32_t depth);  // reads; never faults
void prof_async_init(void);  // finds libswift_Concurrency; not in a handler
bool prof_async_possible(void);  // async-signal-safe: libswift_Concurrency is loaded
bool prof_async_is_executor(uint64_t pc);  // async-signal-safe: pc is in libswift_Concurrency
void prof_async_canonicalize(struct prof_async_capture *capture);  // context addresses -> 1, 2, ... (bucket keys)
void prof_async_note_module(const char *path, size_t path_len, uintptr_t start, uintptr_t limit);  // the writer

// loader_guard.c: the agent's dl_iterate_phdr callers (libunwind, modules) versus fork.
bool prof_loader_enter(void);          // async-signal-safe; false: do not ask the loader now
bool prof_loader_enter_waiting(void);  // thread context: waits out a fork; false: never in this process
void prof_loader_leave(void);          // after a successful enter
void prof_loader_fork_prepare(void);   // last in the prepare handler: bounded wait for walks under way
void prof_loader_fork_parent(void);
void prof_loader_fork_child(void);

// unwind.c
bool prof_unwind_init(void);  // false: libunwind is needed and could not be loaded
extern int (*prof_unwind_backtrace)(void **frames, int max);  // libunwind's, once loaded
// async: NULL, or where the async context candidates of this stack go.
uint32_t prof_unwind(void *ucontext, uint64_t *frames, uint32_t max, uint32_t *truncated,
                     struct prof_async_entry *async, uint32_t *async_count);
void prof_unwind_thread_started(void);  // learns this thread's stack bounds
uint32_t prof_unwind_callers(uint64_t *frames, uint32_t max, uint32_t *truncated);  // frame pointers, from here
// The hooks' stack and its async candidates, canonicalized; not in a signal handler.
uint32_t prof_unwind_callers_async(uint64_t *frames, uint32_t max, uint32_t *truncated,
                                   struct prof_async_entry *async, uint32_t *async_count);

// The calling thread's stack, leaf first, from libunwind or (--unwind fp) frame
// pointers; frames holds PROF_MAX_FRAMES + 1. Always inlined into the hook that
// calls it: the stack then starts with one agent frame, which prof hides.
static inline __attribute__((always_inline)) uint32_t prof_capture_stack(uint64_t *frames, bool *truncated) {
  // Frame pointers also before the agent's constructor has loaded libunwind, and
  // while a fork is under way (libunwind asks the loader, see loader_guard.c).
  if (prof_config.unwinder == PROF_UNWIND_FRAME_POINTERS || prof_unwind_backtrace == NULL || !prof_loader_enter()) {
    uint32_t cut;
    uint32_t depth = prof_unwind_callers(frames, PROF_MAX_FRAMES, &cut);
    *truncated = cut;
    return depth;
  }
  int depth = prof_unwind_backtrace((void **)frames, PROF_MAX_FRAMES + 1);
  prof_loader_leave();
  *truncated = depth > PROF_MAX_FRAMES;
  return *truncated ? PROF_MAX_FRAMES : (uint32_t)(depth > 0 ? depth : 0);
}

// A hook's stack (heap, contention) and, with PROF_ASYNC_STACKS in a Swift
// program, its canonical async candidates: part of the bucket's identity.
struct prof_hook_stack {
  uint64_t frames[PROF_MAX_FRAMES + 1];
  uint32_t depth;
  bool truncated;
  uint32_t async_count;
  struct prof_async_entry async[PROF_ASYNC_MAX_ENTRIES];
};

static inline __attribute__((always_inline)) void prof_capture_hook_stack(struct prof_hook_stack *stack) {
  stack->async_count = 0;
  if (prof_config.async_stacks && prof_async_possible()) {
    uint32_t cut;
    stack->depth = prof_unwind_callers_async(stack->frames, PROF_MAX_FRAMES, &cut, stack->async, &stack->async_count);
    stack->truncated = cut;
    return;
  }
  stack->depth = prof_capture_stack(stack->frames, &stack->truncated);
}

// text.c: numbers and strings joined without stdio.
#define PROF_DECIMAL_SIZE 21  // 2^64 - 1 has 20 digits
const char *prof_decimal(uint64_t value, char digits[PROF_DECIMAL_SIZE]);  // within digits, NUL-terminated
// Joins the strings up to a NULL into out, NUL-terminated; returns the whole length,
// so that >= size means cut short, as snprintf's does.
size_t prof_join(char *out, size_t size, ...) __attribute__((sentinel));

// tasks.c: the process's threads under /proc, without malloc: safe on the way out.
void prof_for_each_task(void (*visit)(pid_t));
size_t prof_read_task_file(pid_t tid, const char *leaf, char *text, size_t size);
void prof_read_comm(pid_t tid, char name[PROF_THREAD_NAME_LEN]);

// wall.c: wall-clock mode's ticker, started by the sampler (a lifecycle subsystem).
bool prof_sampler_start_wall_ticker(void);
void prof_interrupt_thread(pid_t tid);  // sends it the sampling signal, tagged as the ticker's
void prof_wall_sample_taken(pid_t tid);        // async-signal-safe: the handler is done

// signals.c: the sampling signal's handler stays ours whatever the program installs.
bool prof_signal_install(void);
void prof_signal_uninstall(void);  // the program's action back, once none of ours is pending
void prof_emit_task_name(pid_t tid);  // a THREAD record from /proc (sampler.c)
void prof_signal_report_if_blocked(pid_t tid);
void prof_emit_notice(enum prof_notice_code code, pid_t tid, uint64_t value);  // async-signal-safe

// code_map.c: the modules' code, for the frame-pointer walk in the handler.
struct dl_phdr_info;
void prof_code_map_add(const struct dl_phdr_info *info, const char *path);  // the writer, as modules appear
bool prof_code_map_is_code(uintptr_t address);  // async-signal-safe; true while nothing is known
// Segment i of a loaded module, if it is executable code: its address range.
bool prof_code_segment(const struct dl_phdr_info *info, int i, uintptr_t *start, uintptr_t *end);
bool prof_code_map_is_plt(uintptr_t address);   // async-signal-safe

// frame_pointer_map.c: functions that keep a frame pointer at their calls, from their CFI.
void prof_frame_pointer_map_note_new_module(void);  // modules.c, as modules appear
void prof_frame_pointer_map_scan(void);  // hybrid: reads the new modules' tables; the writer, while sampling
bool prof_frame_pointer_map_covers(uintptr_t address);  // async-signal-safe

// modules.c
void prof_modules_emit_if_changed(void);
void prof_modules_forget(void);  // a new stream (a control window) asks the loader for them all again
void prof_modules_resend_cached(void);  // a forked child's new stream: the next emit sends the parent's, without the loader


#endif
