// Heap mode: the malloc family, interposed. Every hook forwards to glibc's exported
// __libc_* entry points (no dlsym, so no bootstrap recursion) and never changes a
// block's layout. Outside heap mode each hook is one branch to glibc.
//
// Sampling as Go's runtime does (malloc.go, nextSample): each thread counts down the
// bytes to its next sample, drawn from an exponential distribution with mean
// sample_rate; only the allocation that crosses zero captures its stack, and its
// bucket counts what it stands for (prof_heap_estimate). Exact totals and the peak come from cheap per-thread counters.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "heap.h"
#include "stack_table.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *block, size_t size);
extern void __libc_free(void *block);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

// A thread publishes its exact totals this often, at its first call (which also
// hooks its exit) and when it exits: the bound on what a live thread holds back.
#define PUBLISH_EVERY_CALLS 1024
#define PUBLISH_EVERY_BYTES (64 * 1024)

struct heap_thread {
  int64_t bytes_until_sample;
  uint64_t random;         // xorshift state; 0 until the thread's first countdown is drawn
  unsigned guard;          // > 0: inside a hook or an agent thread, allocations pass through
  bool exit_hook_set;
  int32_t calls_until_publish;  // 0 in a new thread: its first call publishes
  int64_t in_use_delta;    // chunk bytes of blocks allocated minus freed
  uint64_t allocations;
  uint64_t allocated_bytes;
  uint64_t frees;
};

struct heap_totals {
  _Atomic uint64_t allocations;
  _Atomic uint64_t allocated_bytes;
  _Atomic uint64_t frees;
  _Atomic int64_t in_use_bytes;
  _Atomic int64_t peak_in_use_bytes;
  _Atomic uint64_t peak_monotonic_ns;
  _Atomic uint64_t lost_samples;
};

static __thread struct heap_thread me __attribute__((tls_model("initial-exec")));
static struct heap_totals totals;
static _Atomic bool tracking;
static pthread_key_t thread_exit_key;  // its destructor publishes an exiting thread's totals

// --- exact totals and the peak ---------------------------------------------

static void raise_peak(int64_t in_use) {
  int64_t peak = atomic_load_explicit(&totals.peak_in_use_bytes, memory_order_relaxed);
  while (in_use > peak) {
    if (atomic_compare_exchange_weak_explicit(&totals.peak_in_use_bytes, &peak, in_use, memory_order_relaxed,
                                              memory_order_relaxed)) {
      atomic_store_explicit(&totals.peak_monotonic_ns, prof_now_ns(CLOCK_MONOTONIC), memory_order_relaxed);
      return;
    }
  }
}

static void publish(struct heap_thread *t) {
  atomic_fetch_add_explicit(&totals.allocations, t->allocations, memory_order_relaxed);
  atomic_fetch_add_explicit(&totals.allocated_bytes, t->allocated_bytes, memory_order_relaxed);
  atomic_fetch_add_explicit(&totals.frees, t->frees, memory_order_relaxed);
  int64_t in_use = atomic_fetch_add_explicit(&totals.in_use_bytes, t->in_use_delta, memory_order_relaxed);
  if (t->in_use_delta > 0) raise_peak(in_use + t->in_use_delta);
  t->allocations = t->allocated_bytes = t->frees = 0;
  t->in_use_delta = 0;
  t->calls_until_publish = PUBLISH_EVERY_CALLS;
}

static void on_thread_exit(void *unused) {
  (void)unused;
  me.guard++;
  publish(&me);
  me.guard--;
}

static __attribute__((noinline)) void publish_and_watch_exit(struct heap_thread *t) {
  t->guard++;  // pthread_setspecific may allocate
  publish(t);
  if (!t->exit_hook_set) t->exit_hook_set = pthread_setspecific(thread_exit_key, t) == 0;
  t->guard--;
}

static inline bool publish_due(struct heap_thread *t) {
  return --t->calls_until_publish <= 0 || t->in_use_delta >= PUBLISH_EVERY_BYTES ||
         t->in_use_delta <= -PUBLISH_EVERY_BYTES;
}

// The bytes glibc holds for a block: the size word of its chunk header, without
// the flag bits. Every block here is glibc's (the hooks forward to it), and this
// is a load from a line malloc or free touches anyway, unlike a call to
// malloc_usable_size, which would double the cost of a free.
static inline int64_t chunk_bytes(const void *block) {
  return (int64_t)(((const size_t *)block)[-1] & ~(size_t)7);
}

// --- sampling --------------------------------------------------------------

static uint64_t next_random(struct heap_thread *t) {
  t->random ^= t->random << 13;
  t->random ^= t->random >> 7;
  t->random ^= t->random << 17;
  return t->random;
}

// ln(x) for x in (0, 1], without libm: linking libm would load it into every target,
// dormant or not (~350 KB RSS). x = m * 2^e with m in [1, 2); ln(m) = 2 atanh(s) with
// s = (m - 1) / (m + 1) <= 1/3, whose series converges to 1e-10 in nine terms.
static double natural_log(double x) {
  uint64_t bits;
  __builtin_memcpy(&bits, &x, sizeof bits);
  int exponent = (int)((bits >> 52) & 0x7ff) - 1023;
  bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
  double m;
  __builtin_memcpy(&m, &bits, sizeof m);
  double s = (m - 1) / (m + 1), s2 = s * s, term = s, sum = 0;
  for (int k = 1; k <= 17; k += 2, term *= s2) sum += term / k;
  return 2 * sum + exponent * 0.69314718055994530942;
}

// Bytes until the next sample: exponential with mean sample_rate; 0 records everything.
static int64_t next_gap(struct heap_thread *t) {
  if (prof_heap_sample_rate == 1) return 0;
  double uniform = (double)((next_random(t) >> 11) + 1) * 0x1p-53;  // in (0, 1]
  return (int64_t)(-natural_log(uniform) * (double)prof_heap_sample_rate);
}

// A thread's first countdown, drawn when it first allocates.
static bool draw_first_gap(struct heap_thread *t, size_t size) {
  t->random = (prof_now_ns(CLOCK_MONOTONIC) ^ ((uint64_t)syscall(SYS_gettid) << 32)) | 1;
  t->bytes_until_sample = next_gap(t) - (int64_t)size;
  return t->bytes_until_sample <= 0;
}

static inline __attribute__((always_inline)) void record_sample(struct heap_thread *t, void *block, size_t size) {
  t->guard++;
  if (t->random != 0 || draw_first_gap(t, size)) {
    struct prof_hook_stack stack;
    prof_capture_hook_stack(&stack);
    uint32_t bucket = prof_heap_bucket_for(&stack);
    if (bucket != PROF_HEAP_NO_BUCKET && prof_heap_live_insert(block, (struct prof_live_block){bucket, size}))
      prof_heap_bucket_allocated(bucket, size);
    else
      atomic_fetch_add_explicit(&totals.lost_samples, 1, memory_order_relaxed);
    t->bytes_until_sample = next_gap(t);
  }
  t->guard--;
}

static __attribute__((noinline)) void *tracked_rarely(struct heap_thread *t, void *block, size_t size, bool publish) {
  if (publish) publish_and_watch_exit(t);
  if (t->bytes_until_sample <= 0) record_sample(t, block, size);
  return block;
}

// The rare parts are one tail call, so the common path saves few registers.
static inline void *tracked(void *block, size_t size) {
  struct heap_thread *t = &me;
  if (block == NULL || t->guard) return block;
  t->allocations++;
  t->allocated_bytes += size;
  t->in_use_delta += chunk_bytes(block);
  bool publish = publish_due(t);
  t->bytes_until_sample -= (int64_t)size;
  if (publish || t->bytes_until_sample <= 0) return tracked_rarely(t, block, size, publish);
  return block;
}

// Removes a sampled block from the live table; false for the others.
static inline bool take_sampled(struct heap_thread *t, void *block, struct prof_live_block *sampled) {
  if (!prof_heap_live_may_hold(block)) return false;
  t->guard++;
  bool found = prof_heap_live_remove(block, sampled);
  t->guard--;
  return found;
}

// Counts a free; true when the thread's totals are due to be published.
static inline bool count_free(struct heap_thread *t, int64_t bytes) {
  t->frees++;
  t->in_use_delta -= bytes;
  return publish_due(t);
}

static inline void forget_if_sampled(struct heap_thread *t, void *block) {
  struct prof_live_block sampled;
  if (take_sampled(t, block, &sampled)) prof_heap_bucket_freed(sampled.bucket, sampled.size);
}

// Before the block goes back to glibc: once it has, another thread may get its address.
static inline void untrack(void *block) {
  struct heap_thread *t = &me;
  if (t->guard) return;
  if (count_free(t, chunk_bytes(block))) publish_and_watch_exit(t);
  forget_if_sampled(t, block);
}

// realloc(p, n>0): a failed realloc leaves p allocated, so p stays tracked.
static void *tracked_resize(void *block, size_t size) {
  struct heap_thread *t = &me;
  if (t->guard) return __libc_realloc(block, size);
  int64_t old_bytes = chunk_bytes(block);
  struct prof_live_block sampled;
  bool was_sampled = take_sampled(t, block, &sampled);
  void *moved = __libc_realloc(block, size);
  if (moved == NULL) {
    t->guard++;
    if (was_sampled && !prof_heap_live_insert(block, sampled)) prof_heap_bucket_freed(sampled.bucket, sampled.size);
    t->guard--;
    return NULL;
  }
  if (count_free(t, old_bytes)) publish_and_watch_exit(t);
  if (was_sampled) prof_heap_bucket_freed(sampled.bucket, sampled.size);
  return tracked(moved, size);
}

static void *tracked_realloc(void *block, size_t size) {
  if (block == NULL) return tracked(__libc_realloc(NULL, size), size);
  if (size == 0) {  // glibc frees the block and returns NULL
    untrack(block);
    return __libc_realloc(block, 0);
  }
  return tracked_resize(block, size);
}

#define COLD __attribute__((noinline))

enum { UNDECIDED, DECIDING, DECIDED };
static _Atomic int decision;  // whether this process tracks, from its first hook call on

static bool begin_tracking(uint64_t rate) {
  if (!prof_heap_tables_init() || pthread_key_create(&thread_exit_key, on_thread_exit) != 0) return false;
  prof_heap_sample_rate = rate;
  atomic_store(&tracking, true);
  return true;
}

// The first call of any hook. Libraries' constructors run before the agent's and
// may allocate, so heap mode starts here, from the first malloc, whatever the
// constructor order; the lifecycle's start finds it running. A second thread
// arriving while the first decides is not tracked for that one call.
static COLD bool decide_at_first_call(void) {
  int undecided = UNDECIDED;
  if (!atomic_compare_exchange_strong(&decision, &undecided, DECIDING)) return atomic_load(&tracking);
  uint64_t rate = prof_config_requested_heap_rate();
  if (rate > 0) begin_tracking(rate);
  atomic_store(&decision, DECIDED);
  return atomic_load(&tracking);
}

static inline bool is_tracking(void) {
  if (__builtin_expect(atomic_load_explicit(&tracking, memory_order_relaxed), 0)) return true;
  return __builtin_expect(atomic_load_explicit(&decision, memory_order_relaxed) == UNDECIDED, 0) &&
         decide_at_first_call();
}

// --- the interposed family -------------------------------------------------

// Each hook, dormant, is two loads, a branch and a tail call; the rare parts of
// the tracked paths are out of line.

static COLD void *tracked_malloc(size_t size) { return tracked(__libc_malloc(size), size); }

static COLD void free_rarely(struct heap_thread *t, void *block, bool publish) {
  if (publish) publish_and_watch_exit(t);
  forget_if_sampled(t, block);
  __libc_free(block);
}

PROF_INTERPOSE void *malloc(size_t size) {
  if (!is_tracking()) return __libc_malloc(size);
  return tracked_malloc(size);
}

// The common tracked free needs no stack frame: counters, then a tail call to glibc.
PROF_INTERPOSE void free(void *block) {
  if (is_tracking() && block != NULL && !me.guard) {
    struct heap_thread *t = &me;
    bool publish = count_free(t, chunk_bytes(block));
    if (publish || prof_heap_live_may_hold(block)) return free_rarely(t, block, publish);
  }
  __libc_free(block);
}

// glibc checks count * size for overflow: a non-NULL result means it fits.
PROF_INTERPOSE void *calloc(size_t count, size_t size) {
  if (!is_tracking()) return __libc_calloc(count, size);
  return tracked(__libc_calloc(count, size), count * size);
}

PROF_INTERPOSE void *realloc(void *block, size_t size) {
  if (!is_tracking()) return __libc_realloc(block, size);
  return tracked_realloc(block, size);
}

// As glibc's: ENOMEM on overflow, otherwise realloc (so a zero product frees).
PROF_INTERPOSE void *reallocarray(void *block, size_t count, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(count, size, &bytes)) {
    errno = ENOMEM;
    return NULL;
  }
  if (!is_tracking()) return __libc_realloc(block, bytes);
  return tracked_realloc(block, bytes);
}

PROF_INTERPOSE void *memalign(size_t alignment, size_t size) {
  if (!is_tracking()) return __libc_memalign(alignment, size);
  return tracked(__libc_memalign(alignment, size), size);
}

// glibc 2.36 (Debian 12) makes aligned_alloc an alias of memalign.
PROF_INTERPOSE void *aligned_alloc(size_t alignment, size_t size) {
  if (!is_tracking()) return __libc_memalign(alignment, size);
  return tracked(__libc_memalign(alignment, size), size);
}

// glibc's checks and results: EINVAL unless a power-of-two multiple of sizeof(void *).
PROF_INTERPOSE int posix_memalign(void **result, size_t alignment, size_t size) {
  if (alignment % sizeof(void *) != 0 || alignment == 0 || ((alignment / sizeof(void *)) & (alignment / sizeof(void *) - 1)) != 0)
    return EINVAL;
  void *block = __libc_memalign(alignment, size);
  if (block == NULL) return ENOMEM;
  *result = is_tracking() ? tracked(block, size) : block;
  return 0;
}

PROF_INTERPOSE void *valloc(size_t size) {
  if (!is_tracking()) return __libc_valloc(size);
  return tracked(__libc_valloc(size), size);
}

PROF_INTERPOSE void *pvalloc(size_t size) {
  if (!is_tracking()) return __libc_pvalloc(size);
  return tracked(__libc_pvalloc(size), size);
}

// --- lifecycle -------------------------------------------------------------

void prof_heap_ignore_this_thread(void) { me.guard++; }

void prof_heap_heed_this_thread(void) { me.guard--; }

static void start(void) {
  if (!atomic_load(&tracking) && prof_config.heap_sample_rate > 0) begin_tracking(prof_config.heap_sample_rate);
  atomic_store(&decision, DECIDED);
  if (atomic_load(&tracking)) prof_heap_tables_resend();
}

static void stop(void) { atomic_store(&tracking, false); }

static void append_stats(void) {
  struct prof_heap_stats_record stats = {
      .header = {PROF_REC_HEAP_STATS, sizeof stats},
      .sample_rate = prof_heap_sample_rate,
      .allocations = atomic_load(&totals.allocations),
      .allocated_bytes = atomic_load(&totals.allocated_bytes),
      .frees = atomic_load(&totals.frees),
      .in_use_bytes = atomic_load(&totals.in_use_bytes),
      .peak_in_use_bytes = (uint64_t)atomic_load(&totals.peak_in_use_bytes),
      .peak_monotonic_ns = atomic_load(&totals.peak_monotonic_ns),
      .lost_samples = atomic_load(&totals.lost_samples),
  };
  prof_output_append(&stats, sizeof stats);
}

// The flushing thread publishes its own totals first: at exit that is the last thread.
static void append_records(void) {
  if (prof_config.heap_sample_rate == 0) return;
  me.guard++;
  publish(&me);
  prof_heap_emit_buckets();
  append_stats();
  me.guard--;
}

// Fork. Only a followed child uses the tables again, so only then must no other
// thread hold a table lock across the fork, and the forking thread, holding them
// all, must not re-enter the hooks (other libraries' atfork handlers allocate).
static __thread bool holds_tables_for_fork __attribute__((tls_model("initial-exec")));

static const struct prof_fork_hold tables_hold = {prof_heap_tables_lock, prof_heap_tables_unlock};

static void fork_prepare(void) {
  if (!is_tracking() || !prof_children_followed()) return;
  prof_fork_hold_prepare(&tables_hold, &holds_tables_for_fork, &me.guard);
}

static void fork_parent(void) { prof_fork_hold_parent(&tables_hold, &holds_tables_for_fork, &me.guard); }

static void reset_totals(void) {
  struct heap_thread *t = &me;
  t->allocations = t->allocated_bytes = t->frees = 0;
  t->in_use_delta = 0;
  t->calls_until_publish = 0;
  atomic_store(&totals.allocations, 0);
  atomic_store(&totals.allocated_bytes, 0);
  atomic_store(&totals.frees, 0);
  atomic_store(&totals.in_use_bytes, 0);
  atomic_store(&totals.peak_in_use_bytes, 0);
  atomic_store(&totals.peak_monotonic_ns, 0);
  atomic_store(&totals.lost_samples, 0);
}

// A followed child counts from zero on its own stream; any other child stops tracking.
// The guard stays up until child_started, once the child's writer runs.
static void fork_child(bool following) {
  if (!prof_fork_hold_child(&tables_hold, &holds_tables_for_fork, following, &me.guard, stop)) return;
  prof_heap_tables_reset();
  reset_totals();
}

static void child_started(void) {
  if (is_tracking()) me.guard--;
}

__attribute__((constructor(101))) static void register_heap(void) {
  static const struct prof_subsystem heap = {
      .start = start, .append_records = append_records, .stop = stop, .fork_prepare = fork_prepare,
      .fork_parent = fork_parent, .fork_child = fork_child, .child_started = child_started};
  prof_lifecycle_register(&heap);
}
