// Contention mode: the blocking pthread and semaphore calls, interposed. As
// mutrace does it, each acquisition first tries without blocking; only when that
// fails is the blocking call timed, so an uncontended lock costs one extra
// trylock. Dormant (no PROF_BLOCK_RATE or PROF_MUTEX_FRACTION), a hook is a load
// and a branch to glibc.
//
// Block mode (Go's block profile): the waiter's stack and its delay, sampled as
// runtime.SetBlockProfileRate: a wait of at least the rate is always kept, a
// shorter one with probability delay/rate and then counted as rate/delay waits
// of rate ns each.
//
// Mutex mode (Go's mutex profile since 1.22): the waiters' delay is charged to
// the stack that releases the lock they wait for. Each contended lock has a slot
// that integrates waiters × time; a release charges what accrued to its own
// stack, and a waiter that acquires afterwards charges its last stretch (the
// wake-up) and its one contention to that release. 1 in PROF_MUTEX_FRACTION
// releases is recorded, counted fraction times.
//
// Deadlock freedom: a thread inside a hook (guard set) passes every lock it takes
// again (from the unwinder, from a signal handler) straight to glibc; the agent's
// own spinlocks are never held across a call into the program's locks.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "contention.h"
#include "heap.h"
#include "stack_table.h"

// glibc's own entry points, by their exported aliases: no dlsym, so no bootstrap
// order (another library's constructor may lock before ours runs). The aliases
// are compat versions, bound with .symver; the architecture's base version.
#if defined(__x86_64__)
#define GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define GLIBC_BASE "GLIBC_2.17"
#else
#error "the glibc base version of this architecture"
#endif
#define GLIBC_ALIAS(ours, theirs) __asm__(".symver " #ours ", " #theirs "@" GLIBC_BASE)
extern int glibc_mutex_lock(pthread_mutex_t *mutex);
extern int glibc_mutex_trylock(pthread_mutex_t *mutex);
extern int glibc_mutex_unlock(pthread_mutex_t *mutex);
extern int glibc_rwlock_rdlock(pthread_rwlock_t *lock);
extern int glibc_rwlock_wrlock(pthread_rwlock_t *lock);
extern int glibc_rwlock_tryrdlock(pthread_rwlock_t *lock);
extern int glibc_rwlock_trywrlock(pthread_rwlock_t *lock);
extern int glibc_rwlock_unlock(pthread_rwlock_t *lock);
GLIBC_ALIAS(glibc_mutex_lock, __pthread_mutex_lock);
GLIBC_ALIAS(glibc_mutex_trylock, __pthread_mutex_trylock);
GLIBC_ALIAS(glibc_mutex_unlock, __pthread_mutex_unlock);
GLIBC_ALIAS(glibc_rwlock_rdlock, __pthread_rwlock_rdlock);
GLIBC_ALIAS(glibc_rwlock_wrlock, __pthread_rwlock_wrlock);
GLIBC_ALIAS(glibc_rwlock_tryrdlock, __pthread_rwlock_tryrdlock);
GLIBC_ALIAS(glibc_rwlock_trywrlock, __pthread_rwlock_trywrlock);
GLIBC_ALIAS(glibc_rwlock_unlock, __pthread_rwlock_unlock);

// The rest have no exported alias: found once, in the constructor (before the
// program runs), or on first use if another library's constructor locks first.
struct real_functions {
  int (*mutex_timedlock)(pthread_mutex_t *, const struct timespec *);
  int (*mutex_clocklock)(pthread_mutex_t *, clockid_t, const struct timespec *);
  int (*rwlock_timedrdlock)(pthread_rwlock_t *, const struct timespec *);
  int (*rwlock_timedwrlock)(pthread_rwlock_t *, const struct timespec *);
  int (*cond_wait)(pthread_cond_t *, pthread_mutex_t *);
  int (*cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
  int (*cond_clockwait)(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *);
  int (*sem_wait)(sem_t *);
  int (*sem_timedwait)(sem_t *, const struct timespec *);
  int (*sem_clockwait)(sem_t *, clockid_t, const struct timespec *);
  int (*sem_trywait)(sem_t *);
};
static struct real_functions real;

// The condition variables' current version: dlsym alone would find the 2.2.5 compat one.
static void *find_real(const char *name) {
  void *found = strncmp(name, "pthread_cond_", 13) == 0 ? dlvsym(RTLD_NEXT, name, "GLIBC_2.3.2") : NULL;
  return found ? found : dlsym(RTLD_NEXT, name);
}

#define REAL(field, name) \
  (__builtin_expect(real.field != NULL, 1) ? real.field : (real.field = (__typeof__(real.field))find_real(name)))

static void find_real_functions(void) {
  REAL(mutex_timedlock, "pthread_mutex_timedlock");
  REAL(mutex_clocklock, "pthread_mutex_clocklock");
  REAL(rwlock_timedrdlock, "pthread_rwlock_timedrdlock");
  REAL(rwlock_timedwrlock, "pthread_rwlock_timedwrlock");
  REAL(cond_wait, "pthread_cond_wait");
  REAL(cond_timedwait, "pthread_cond_timedwait");
  REAL(cond_clockwait, "pthread_cond_clockwait");
  REAL(sem_wait, "sem_wait");
  REAL(sem_timedwait, "sem_timedwait");
  REAL(sem_clockwait, "sem_clockwait");
  REAL(sem_trywait, "sem_trywait");
}

// --- state -----------------------------------------------------------------

struct contention_thread {
  unsigned guard;   // > 0: inside a hook; locks pass straight through
  uint64_t random;  // xorshift; 0 until first drawn
};

struct contention_totals {
  _Atomic uint64_t waits;
  _Atomic uint64_t wait_ns;
  _Atomic uint64_t lost;
};

static __thread struct contention_thread me __attribute__((tls_model("initial-exec")));
static _Atomic bool recording;
static struct contention_totals totals;
static uint64_t block_rate_ns;   // 0: block mode off
static uint64_t mutex_fraction;  // 0: mutex mode off

static inline bool is_recording(void) {
  return __builtin_expect(atomic_load_explicit(&recording, memory_order_relaxed), 0) && me.guard == 0;
}

static uint64_t next_random(void) {
  if (me.random == 0) me.random = (prof_now_ns(CLOCK_MONOTONIC) ^ ((uint64_t)syscall(SYS_gettid) << 32)) | 1;
  me.random ^= me.random << 13;
  me.random ^= me.random >> 7;
  me.random ^= me.random << 17;
  return me.random;
}

// The calling thread's stack: it starts with this function's frame and the hook's.
static __attribute__((noinline)) uint32_t current_bucket(void) {
  struct prof_hook_stack stack;
  prof_capture_hook_stack(&stack);
  uint32_t bucket = prof_contention_bucket_for(&stack);
  if (bucket == PROF_CONTENTION_NO_BUCKET) atomic_fetch_add_explicit(&totals.lost, 1, memory_order_relaxed);
  return bucket;
}

// --- mutex mode: who made others wait --------------------------------------

#define LOCK_SLOTS 4096u  // direct-mapped by the lock's address; a collision is lost

struct lock_slot {
  atomic_flag busy;
  _Atomic uintptr_t lock;      // 0: free
  _Atomic uint32_t waiters;
  uint64_t owed_ns;            // waiter-ns accrued since the last charge
  uint64_t since_ns;           // owed_ns is up to date to here
  uint32_t release_bucket;     // the last release's stack; NO_BUCKET: not sampled
  bool release_seen;
};

static struct lock_slot *lock_slots;

static struct lock_slot *slot_of(const void *lock) {
  uint64_t hash = (uintptr_t)lock * 0x9e3779b97f4a7c15ull;
  return &lock_slots[(hash >> 32) & (LOCK_SLOTS - 1)];
}

static void accrue(struct lock_slot *slot, uint64_t now) {
  if (now > slot->since_ns) slot->owed_ns += (now - slot->since_ns) * atomic_load_explicit(&slot->waiters, memory_order_relaxed);
  slot->since_ns = now;
}

static bool waiter_arrives(const void *lock, uint64_t now) {
  struct lock_slot *slot = slot_of(lock);
  prof_spin_lock(&slot->busy);
  uintptr_t owner = atomic_load_explicit(&slot->lock, memory_order_relaxed);
  bool tracked = owner == 0 || owner == (uintptr_t)lock;
  if (tracked) {
    if (owner == 0) {
      atomic_store_explicit(&slot->lock, (uintptr_t)lock, memory_order_relaxed);
      slot->owed_ns = 0;
      slot->release_seen = false;
      slot->since_ns = now;
    }
    accrue(slot, now);
    atomic_fetch_add_explicit(&slot->waiters, 1, memory_order_relaxed);
  }
  prof_spin_unlock(&slot->busy);
  if (!tracked) atomic_fetch_add_explicit(&totals.lost, 1, memory_order_relaxed);
  return tracked;
}

// The waiter's one contention and its last stretch go to the release it followed.
static void waiter_leaves(const void *lock, uint64_t now) {
  struct lock_slot *slot = slot_of(lock);
  prof_spin_lock(&slot->busy);
  accrue(slot, now);
  uint32_t waiters = atomic_fetch_sub_explicit(&slot->waiters, 1, memory_order_relaxed) - 1;
  if (slot->release_seen) {
    if (slot->release_bucket != PROF_CONTENTION_NO_BUCKET)
      prof_contention_add_mutex(slot->release_bucket, mutex_fraction * PROF_CONTENTION_ONE,
                                slot->owed_ns * mutex_fraction);
    slot->owed_ns = 0;
  }
  if (waiters == 0) atomic_store_explicit(&slot->lock, 0, memory_order_relaxed);
  prof_spin_unlock(&slot->busy);
}

static inline bool has_waiters(const void *lock) {
  const struct lock_slot *slot = slot_of(lock);
  return atomic_load_explicit(&slot->lock, memory_order_relaxed) == (uintptr_t)lock &&
         atomic_load_explicit(&slot->waiters, memory_order_relaxed) > 0;
}

// Before the real release, so the charge is made before a waiter can take the lock.
static __attribute__((noinline)) void lock_released(const void *lock) {
  me.guard++;
  bool sampled = mutex_fraction == 1 || next_random() % mutex_fraction == 0;
  uint32_t bucket = sampled ? current_bucket() : PROF_CONTENTION_NO_BUCKET;
  struct lock_slot *slot = slot_of(lock);
  prof_spin_lock(&slot->busy);
  if (atomic_load_explicit(&slot->lock, memory_order_relaxed) == (uintptr_t)lock) {
    accrue(slot, prof_now_ns(CLOCK_MONOTONIC));
    if (bucket != PROF_CONTENTION_NO_BUCKET) prof_contention_add_mutex(bucket, 0, slot->owed_ns * mutex_fraction);
    slot->owed_ns = 0;
    slot->release_bucket = bucket;
    slot->release_seen = true;
  }
  prof_spin_unlock(&slot->busy);
  me.guard--;
}

static inline void releasing(const void *lock) {
  if (mutex_fraction != 0 && is_recording() && has_waiters(lock)) lock_released(lock);
}

// --- block mode: where threads waited --------------------------------------

static void record_block(uint64_t delay_ns) {
  uint64_t contentions = PROF_CONTENTION_ONE, charged_ns = delay_ns;
  if (delay_ns < block_rate_ns) {
    if (next_random() % block_rate_ns > delay_ns) return;
    contentions = (uint64_t)PROF_CONTENTION_ONE * block_rate_ns / delay_ns;
    charged_ns = block_rate_ns;
  }
  uint32_t bucket = current_bucket();
  if (bucket != PROF_CONTENTION_NO_BUCKET) prof_contention_add_block(bucket, contentions, charged_ns);
}

// --- the hooks' common part --------------------------------------------------

struct wait {
  uint64_t start_ns;
  const void *lock;    // what mutex mode tracks; NULL: not tracked
};

static __attribute__((noinline)) struct wait wait_begins(const void *lock, bool mutex_like) {
  me.guard++;
  struct wait wait = {prof_now_ns(CLOCK_MONOTONIC), NULL};
  if (mutex_like && mutex_fraction != 0 && waiter_arrives(lock, wait.start_ns)) wait.lock = lock;
  return wait;
}

// blocked: the call really waited (not EDEADLK, EINVAL, ...).
static __attribute__((noinline)) void wait_ends(struct wait wait, bool blocked) {
  uint64_t end = prof_now_ns(CLOCK_MONOTONIC);
  if (wait.lock) waiter_leaves(wait.lock, end);
  if (blocked) {
    uint64_t delay = end > wait.start_ns ? end - wait.start_ns : 1;
    atomic_fetch_add_explicit(&totals.waits, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&totals.wait_ns, delay, memory_order_relaxed);
    if (block_rate_ns != 0) record_block(delay);
  }
  me.guard--;
}

static inline bool waited(int result) { return result == 0 || result == EOWNERDEAD || result == ETIMEDOUT; }

// A lock: try first, time only the blocking call.
#define TIMED_LOCK(lock, mutex_like, try_call, call)        \
  do {                                                      \
    if (!is_recording()) return call;                       \
    int tried = try_call;                                   \
    if (tried != EBUSY) return tried;                       \
    int saved_errno = errno;                                \
    struct wait wait = wait_begins(lock, mutex_like);       \
    int result = call;                                      \
    wait_ends(wait, waited(result));                        \
    errno = saved_errno;                                    \
    return result;                                          \
  } while (0)

// --- mutexes ----------------------------------------------------------------

PROF_INTERPOSE int pthread_mutex_lock(pthread_mutex_t *mutex) {
  TIMED_LOCK(mutex, true, glibc_mutex_trylock(mutex), glibc_mutex_lock(mutex));
}

PROF_INTERPOSE int pthread_mutex_timedlock(pthread_mutex_t *mutex, const struct timespec *deadline) {
  TIMED_LOCK(mutex, true, glibc_mutex_trylock(mutex),
             REAL(mutex_timedlock, "pthread_mutex_timedlock")(mutex, deadline));
}

PROF_INTERPOSE int pthread_mutex_clocklock(pthread_mutex_t *mutex, clockid_t clock, const struct timespec *deadline) {
  TIMED_LOCK(mutex, true, glibc_mutex_trylock(mutex),
             REAL(mutex_clocklock, "pthread_mutex_clocklock")(mutex, clock, deadline));
}

PROF_INTERPOSE int pthread_mutex_unlock(pthread_mutex_t *mutex) {
  releasing(mutex);
  return glibc_mutex_unlock(mutex);
}

// --- read-write locks -------------------------------------------------------

PROF_INTERPOSE int pthread_rwlock_rdlock(pthread_rwlock_t *lock) {
  TIMED_LOCK(lock, true, glibc_rwlock_tryrdlock(lock), glibc_rwlock_rdlock(lock));
}

PROF_INTERPOSE int pthread_rwlock_wrlock(pthread_rwlock_t *lock) {
  TIMED_LOCK(lock, true, glibc_rwlock_trywrlock(lock), glibc_rwlock_wrlock(lock));
}

PROF_INTERPOSE int pthread_rwlock_timedrdlock(pthread_rwlock_t *lock, const struct timespec *deadline) {
  TIMED_LOCK(lock, true, glibc_rwlock_tryrdlock(lock),
             REAL(rwlock_timedrdlock, "pthread_rwlock_timedrdlock")(lock, deadline));
}

PROF_INTERPOSE int pthread_rwlock_timedwrlock(pthread_rwlock_t *lock, const struct timespec *deadline) {
  TIMED_LOCK(lock, true, glibc_rwlock_trywrlock(lock),
             REAL(rwlock_timedwrlock, "pthread_rwlock_timedwrlock")(lock, deadline));
}

PROF_INTERPOSE int pthread_rwlock_unlock(pthread_rwlock_t *lock) {
  releasing(lock);
  return glibc_rwlock_unlock(lock);
}

// --- condition variables: always wait; the mutex is released on entry -----------

#define TIMED_WAIT(mutex, call)                       \
  do {                                                \
    if (!is_recording()) return call;                 \
    releasing(mutex);                                 \
    struct wait wait = wait_begins(NULL, false);      \
    int result = call;                                \
    wait_ends(wait, waited(result));                  \
    return result;                                    \
  } while (0)

PROF_INTERPOSE int pthread_cond_wait(pthread_cond_t *condition, pthread_mutex_t *mutex) {
  TIMED_WAIT(mutex, REAL(cond_wait, "pthread_cond_wait")(condition, mutex));
}

PROF_INTERPOSE int pthread_cond_timedwait(pthread_cond_t *condition, pthread_mutex_t *mutex,
                                          const struct timespec *deadline) {
  TIMED_WAIT(mutex, REAL(cond_timedwait, "pthread_cond_timedwait")(condition, mutex, deadline));
}

PROF_INTERPOSE int pthread_cond_clockwait(pthread_cond_t *condition, pthread_mutex_t *mutex, clockid_t clock,
                                          const struct timespec *deadline) {
  TIMED_WAIT(mutex, REAL(cond_clockwait, "pthread_cond_clockwait")(condition, mutex, clock, deadline));
}

// --- semaphores: -1 and errno, not an error number ----------------------------

#define TIMED_SEM(semaphore, call)                                               \
  do {                                                                           \
    if (!is_recording()) return call;                                            \
    int saved_errno = errno;                                                     \
    if (REAL(sem_trywait, "sem_trywait")(semaphore) == 0) return 0;              \
    if (errno != EAGAIN) return -1;                                              \
    errno = saved_errno;                                                         \
    struct wait wait = wait_begins(semaphore, false);                            \
    int result = call;                                                           \
    int call_errno = errno;                                                      \
    wait_ends(wait, result == 0 || call_errno == ETIMEDOUT);                     \
    errno = call_errno;                                                          \
    return result;                                                               \
  } while (0)

PROF_INTERPOSE int sem_wait(sem_t *semaphore) { TIMED_SEM(semaphore, REAL(sem_wait, "sem_wait")(semaphore)); }

PROF_INTERPOSE int sem_timedwait(sem_t *semaphore, const struct timespec *deadline) {
  TIMED_SEM(semaphore, REAL(sem_timedwait, "sem_timedwait")(semaphore, deadline));
}

PROF_INTERPOSE int sem_clockwait(sem_t *semaphore, clockid_t clock, const struct timespec *deadline) {
  TIMED_SEM(semaphore, REAL(sem_clockwait, "sem_clockwait")(semaphore, clock, deadline));
}

// --- Swift's Synchronization.Mutex ---------------------------------------------
// Its lock is an inlined compare-and-swap; only a contended lock calls the
// out-of-line _MutexHandle._lockSlow (spin, then futex) in libswiftSynchronization,
// and an unlock with waiters _unlockSlow: exported, called through the PLT, so
// interposable. Swift's calling convention: self (the handle's address) in the
// swiftself register, which clang names swift_context.
#define SWIFT_CALL __attribute__((swiftcall))
#define SWIFT_SELF __attribute__((swift_context))
#define MUTEX_LOCK_SLOW "$s15Synchronization12_MutexHandleV9_lockSlowyys6UInt32VF"
#define MUTEX_UNLOCK_SLOW "$s15Synchronization12_MutexHandleV11_unlockSlowyyF"

typedef SWIFT_CALL void swift_lock_slow(uint32_t owner, void *SWIFT_SELF handle);
typedef SWIFT_CALL void swift_unlock_slow(void *SWIFT_SELF handle);
static swift_lock_slow *real_swift_lock_slow;
static swift_unlock_slow *real_swift_unlock_slow;

PROF_INTERPOSE SWIFT_CALL void swift_mutex_lock_slow(uint32_t owner, void *SWIFT_SELF handle) __asm__(MUTEX_LOCK_SLOW);
PROF_INTERPOSE SWIFT_CALL void swift_mutex_unlock_slow(void *SWIFT_SELF handle) __asm__(MUTEX_UNLOCK_SLOW);

SWIFT_CALL void swift_mutex_lock_slow(uint32_t owner, void *SWIFT_SELF handle) {
  if (real_swift_lock_slow == NULL) real_swift_lock_slow = (swift_lock_slow *)dlsym(RTLD_NEXT, MUTEX_LOCK_SLOW);
  if (!is_recording()) return real_swift_lock_slow(owner, handle);
  struct wait wait = wait_begins(handle, true);
  real_swift_lock_slow(owner, handle);
  wait_ends(wait, true);
}

SWIFT_CALL void swift_mutex_unlock_slow(void *SWIFT_SELF handle) {
  if (real_swift_unlock_slow == NULL) real_swift_unlock_slow = (swift_unlock_slow *)dlsym(RTLD_NEXT, MUTEX_UNLOCK_SLOW);
  releasing(handle);
  real_swift_unlock_slow(handle);
}

// --- lifecycle -------------------------------------------------------------

static void start(void) {
  if (prof_config.block_rate_ns == 0 && prof_config.mutex_fraction == 0) return;
  me.guard++;
  find_real_functions();
  lock_slots = prof_map(LOCK_SLOTS * sizeof *lock_slots);
  bool ready = lock_slots != NULL && prof_contention_table_init();
  me.guard--;
  if (!ready) return;
  block_rate_ns = prof_config.block_rate_ns;
  mutex_fraction = prof_config.mutex_fraction;
  atomic_store(&recording, true);
}

static void stop(void) { atomic_store(&recording, false); }

static void append_records(void) {
  if (block_rate_ns == 0 && mutex_fraction == 0) return;
  prof_contention_emit_buckets();
  struct prof_contention_stats_record stats = {
      .header = {PROF_REC_CONTENTION_STATS, sizeof stats},
      .block_rate_ns = block_rate_ns,
      .mutex_fraction = mutex_fraction,
      .waits = atomic_load(&totals.waits),
      .wait_ns = atomic_load(&totals.wait_ns),
      .lost = atomic_load(&totals.lost),
  };
  prof_output_append(&stats, sizeof stats);
}

// Fork: only a followed child records again, so only then must no other thread
// be adding a stack when the process is copied. Other threads' lock slots are
// wiped in the child: their waits are not the child's.
static __thread bool holds_table_for_fork __attribute__((tls_model("initial-exec")));
static __thread bool guarded_until_child_starts __attribute__((tls_model("initial-exec")));

static void fork_prepare(void) {
  if (!atomic_load(&recording) || !prof_children_followed()) return;
  me.guard++;
  prof_contention_table_lock();
  holds_table_for_fork = true;
}

static void fork_parent(void) {
  if (!holds_table_for_fork) return;
  holds_table_for_fork = false;
  prof_contention_table_unlock();
  me.guard--;
}

static void fork_child(bool following) {
  bool held = holds_table_for_fork;
  holds_table_for_fork = false;
  if (held) prof_contention_table_unlock();
  if (!following || !held) {
    stop();
    if (held) me.guard--;
    return;
  }
  guarded_until_child_starts = true;  // the child's writer starts before its hooks record
  prof_contention_table_reset();
  memset(lock_slots, 0, LOCK_SLOTS * sizeof *lock_slots);
  atomic_store(&totals.waits, 0);
  atomic_store(&totals.wait_ns, 0);
  atomic_store(&totals.lost, 0);
}

static void child_started(void) {
  if (!guarded_until_child_starts) return;
  guarded_until_child_starts = false;
  me.guard--;
}

__attribute__((constructor(101))) static void register_contention(void) {
  static const struct prof_subsystem contention = {
      .start = start, .append_records = append_records, .stop = stop, .fork_prepare = fork_prepare,
      .fork_parent = fork_parent, .fork_child = fork_child, .child_started = child_started};
  prof_lifecycle_register(&contention);
  prof_heap_ignore_this_thread();  // dlsym's allocations are not the program's
  find_real_functions();
  prof_heap_heed_this_thread();
}
