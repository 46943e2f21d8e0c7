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
// Trace mode (PROF_LOCK_WAIT_NS): a lock wait at least that long goes into the
// ring as a LOCK_WAIT record, with the lock's address and the tid that held it
// when the wait began (the lock word says, for glibc's locks and Swift's Mutex),
// for `prof trace` to draw as a "waiting for lock" slice.
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
  void (*dispatch_sync_f)(void *, void *, void (*)(void *));
  void (*dispatch_barrier_sync_f)(void *, void *, void (*)(void *));
  void (*dispatch_sync)(void *, void *);
  void (*dispatch_barrier_sync)(void *, void *);
  void (*const *dispatch_block_special_invoke)(void *);  // a variable: the invoke function's address
  long (*dispatch_group_wait)(void *, uint64_t);
};
static struct real_functions real;

// The condition variables' current version: dlsym alone would find the 2.2.5 compat one.
// libdispatch and Swift's Synchronization may be in a library's local scope (a
// plugin dlopen'ed RTLD_LOCAL), where RTLD_NEXT does not look, while the plugin's
// calls still reach our hooks: then the library already loaded is asked, by a
// hook that needs it (never in the constructor: a dormant agent keeps out of the
// loader's dlopen code).
static void *find_real(const char *name, bool in_local_scopes) {
  void *found = strncmp(name, "pthread_cond_", 13) == 0 ? dlvsym(RTLD_NEXT, name, "GLIBC_2.3.2") : NULL;
  if (found == NULL) found = dlsym(RTLD_NEXT, name);
  const char *library = strncmp(name, "dispatch_", 9) == 0 || strncmp(name, "_dispatch_", 10) == 0 ? "libdispatch.so"
                        : strncmp(name, "$s15Synchronization", 19) == 0                          ? "libswiftSynchronization.so"
                                                                                                  : NULL;
  void *loaded = found == NULL && library && in_local_scopes ? dlopen(library, RTLD_LAZY | RTLD_NOLOAD) : NULL;
  return loaded ? dlsym(loaded, name) : found;
}

#define RESOLVE(field, name, in_local_scopes)                                                      \
  (__builtin_expect(real.field != NULL, 1) ? real.field                                            \
                                           : (real.field = (__typeof__(real.field))find_real(name, in_local_scopes)))
#define REAL(field, name) RESOLVE(field, name, true)

// A name not found (libdispatch's in a C program) leaves glibc's dlerror state
// allocated, freed only at the next dlerror or the thread's exit, where heap mode
// would count frees the program never made: reading it twice frees it now.
static void find_real_functions(void) {
  prof_heap_ignore_this_thread();  // dlsym's allocations are not the program's
  bool missed = false;
#define FIND(field, name) missed |= RESOLVE(field, name, false) == NULL
  FIND(mutex_timedlock, "pthread_mutex_timedlock");
  FIND(mutex_clocklock, "pthread_mutex_clocklock");
  FIND(rwlock_timedrdlock, "pthread_rwlock_timedrdlock");
  FIND(rwlock_timedwrlock, "pthread_rwlock_timedwrlock");
  FIND(cond_wait, "pthread_cond_wait");
  FIND(cond_timedwait, "pthread_cond_timedwait");
  FIND(cond_clockwait, "pthread_cond_clockwait");
  FIND(sem_wait, "sem_wait");
  FIND(sem_timedwait, "sem_timedwait");
  FIND(sem_clockwait, "sem_clockwait");
  FIND(sem_trywait, "sem_trywait");
  FIND(dispatch_sync_f, "dispatch_sync_f");
  FIND(dispatch_barrier_sync_f, "dispatch_barrier_sync_f");
  FIND(dispatch_sync, "dispatch_sync");
  FIND(dispatch_barrier_sync, "dispatch_barrier_sync");
  FIND(dispatch_block_special_invoke, "_dispatch_block_special_invoke");
  FIND(dispatch_group_wait, "dispatch_group_wait");
#undef FIND
  if (missed) {
    dlerror();
    dlerror();
  }
  prof_heap_heed_this_thread();
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
static uint64_t lock_wait_ns;    // 0: no LOCK_WAIT records

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

// Before the real release, so the charge is made before a waiter can take the lock.
static __attribute__((noinline)) void lock_released(const void *lock) {
  me.guard++;
  bool sampled = mutex_fraction == 1 || next_random() % mutex_fraction == 0;
  uint32_t bucket = sampled ? current_bucket() : PROF_CONTENTION_NO_BUCKET;
  prof_lock_slot_released(lock, bucket, mutex_fraction);
  me.guard--;
}

static inline void releasing(const void *lock) {
  if (mutex_fraction != 0 && is_recording() && prof_lock_slot_has_waiters(lock)) lock_released(lock);
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
  const void *lock;    // a lock (not a condition or semaphore); NULL: none
  bool tracked;        // mutex mode tracks the lock
  uint32_t holder;     // its holder's tid when the wait began; 0: unknown
};

// lock: NULL for a wait that is not for a lock (no holder, nothing to charge).
static __attribute__((noinline)) struct wait wait_begins(const void *lock, uint32_t holder) {
  me.guard++;
  struct wait wait = {prof_now_ns(CLOCK_MONOTONIC), lock, false, holder};
  wait.tracked = lock && mutex_fraction != 0 && prof_lock_slot_waiter_arrives(lock, wait.start_ns);
  if (lock && mutex_fraction != 0 && !wait.tracked) atomic_fetch_add_explicit(&totals.lost, 1, memory_order_relaxed);
  return wait;
}

// Dropped, never waited for, when the ring is full: the thread holds the lock now.
static void record_lock_wait(const struct wait *wait, uint64_t end) {
  uint64_t ticket;
  struct prof_lock_wait_record *record = prof_ring_reserve(&ticket);
  if (record == NULL) {
    atomic_fetch_add_explicit(&prof_counters.dropped, 1, memory_order_relaxed);
    return;
  }
  *record = (struct prof_lock_wait_record){
      .header = {PROF_REC_LOCK_WAIT, sizeof *record},
      .tid = (uint32_t)prof_current_tid(),
      .holder_tid = wait->holder,
      .lock = (uintptr_t)wait->lock,
      .start_ns = wait->start_ns,
      .end_ns = end,
  };
  prof_ring_publish(ticket);
}

static void count_wait(const struct wait *wait, uint64_t end) {
  uint64_t delay = end > wait->start_ns ? end - wait->start_ns : 1;
  atomic_fetch_add_explicit(&totals.waits, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&totals.wait_ns, delay, memory_order_relaxed);
  if (block_rate_ns != 0) record_block(delay);
  if (lock_wait_ns != 0 && wait->lock && delay >= lock_wait_ns) record_lock_wait(wait, end);
}

// blocked: the call really waited (not EDEADLK, EINVAL, ...).
static __attribute__((noinline)) void wait_ends(struct wait wait, bool blocked) {
  uint64_t end = prof_now_ns(CLOCK_MONOTONIC);
  if (wait.tracked) prof_lock_slot_waiter_leaves(wait.lock, end, mutex_fraction);
  if (blocked) count_wait(&wait, end);
  me.guard--;
}

static inline bool waited(int result) { return result == 0 || result == EOWNERDEAD || result == ETIMEDOUT; }

// Who holds a lock, from its lock word (read racily: the holder may be leaving).
// glibc records the owner's tid in a mutex and a write-locked rwlock (readers
// leave none); Swift's Mutex on Linux keeps the owner's tid in its futex word.
#define FUTEX_TID_MASK 0x3fffffffu
static inline uint32_t mutex_holder(pthread_mutex_t *mutex) {
  return (uint32_t)__atomic_load_n(&mutex->__data.__owner, __ATOMIC_RELAXED);
}
static inline uint32_t rwlock_holder(pthread_rwlock_t *lock) {
  return (uint32_t)__atomic_load_n(&lock->__data.__cur_writer, __ATOMIC_RELAXED);
}

// A lock: try first, time only the blocking call.
#define TIMED_LOCK(lock, holder, try_call, call)            \
  do {                                                      \
    if (!is_recording()) return call;                       \
    int tried = try_call;                                   \
    if (tried != EBUSY) return tried;                       \
    int saved_errno = errno;                                \
    struct wait wait = wait_begins(lock, holder);           \
    int result = call;                                      \
    wait_ends(wait, waited(result));                        \
    errno = saved_errno;                                    \
    return result;                                          \
  } while (0)

// --- mutexes ----------------------------------------------------------------

PROF_INTERPOSE int pthread_mutex_lock(pthread_mutex_t *mutex) {
  TIMED_LOCK(mutex, mutex_holder(mutex), glibc_mutex_trylock(mutex), glibc_mutex_lock(mutex));
}

PROF_INTERPOSE int pthread_mutex_timedlock(pthread_mutex_t *mutex, const struct timespec *deadline) {
  TIMED_LOCK(mutex, mutex_holder(mutex), glibc_mutex_trylock(mutex),
             REAL(mutex_timedlock, "pthread_mutex_timedlock")(mutex, deadline));
}

PROF_INTERPOSE int pthread_mutex_clocklock(pthread_mutex_t *mutex, clockid_t clock, const struct timespec *deadline) {
  TIMED_LOCK(mutex, mutex_holder(mutex), glibc_mutex_trylock(mutex),
             REAL(mutex_clocklock, "pthread_mutex_clocklock")(mutex, clock, deadline));
}

PROF_INTERPOSE int pthread_mutex_unlock(pthread_mutex_t *mutex) {
  releasing(mutex);
  return glibc_mutex_unlock(mutex);
}

// --- read-write locks -------------------------------------------------------

PROF_INTERPOSE int pthread_rwlock_rdlock(pthread_rwlock_t *lock) {
  TIMED_LOCK(lock, rwlock_holder(lock), glibc_rwlock_tryrdlock(lock), glibc_rwlock_rdlock(lock));
}

PROF_INTERPOSE int pthread_rwlock_wrlock(pthread_rwlock_t *lock) {
  TIMED_LOCK(lock, rwlock_holder(lock), glibc_rwlock_trywrlock(lock), glibc_rwlock_wrlock(lock));
}

PROF_INTERPOSE int pthread_rwlock_timedrdlock(pthread_rwlock_t *lock, const struct timespec *deadline) {
  TIMED_LOCK(lock, rwlock_holder(lock), glibc_rwlock_tryrdlock(lock),
             REAL(rwlock_timedrdlock, "pthread_rwlock_timedrdlock")(lock, deadline));
}

PROF_INTERPOSE int pthread_rwlock_timedwrlock(pthread_rwlock_t *lock, const struct timespec *deadline) {
  TIMED_LOCK(lock, rwlock_holder(lock), glibc_rwlock_trywrlock(lock),
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
    struct wait wait = wait_begins(NULL, 0);          \
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
    struct wait wait = wait_begins(NULL, 0);                                     \
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

// --- libdispatch: waiting for a queue or a group ----------------------------
// A contended dispatch_sync waits on libdispatch's thread event (a futex) with no
// interposable call on the way, and libdispatch has no try-variant. So the sync
// calls themselves are interposed: the work is passed on wrapped, and the wrapper
// notes when it starts. The wait is from the call to that start, never the work's
// own time; the work runs outside the hook's guard, so its locks are recorded as
// usual. Work that starts within DISPATCH_UNCONTENDED_NS took the fast path and is
// not a wait. A block made by dispatch_block_create (QoS, flags: libdispatch tells
// it by its invoke function, as here) passes through untimed.
#define DISPATCH_UNCONTENDED_NS 1000

struct block_layout {  // the blocks ABI: a block's invoke function takes the block
  void *isa;
  int flags;
  int reserved;
  void (*invoke)(void *block);
};

struct sync_work {
  void *context;
  void (*function)(void *);
  uint64_t started_ns;
};

static void run_sync_work(void *context) {
  struct sync_work *work = context;
  work->started_ns = prof_now_ns(CLOCK_MONOTONIC);
  work->function(work->context);
}

static void run_sync_block(void *block) { ((struct block_layout *)block)->invoke(block); }

typedef void dispatch_sync_function(void *queue, void *context, void (*function)(void *));
typedef void dispatch_sync_block(void *queue, void *block);

static __attribute__((noinline)) void sync_waited(uint64_t start_ns, uint64_t started_ns) {
  if (started_ns < start_ns + DISPATCH_UNCONTENDED_NS) return;
  me.guard++;
  struct wait wait = {start_ns, NULL, false, 0};
  count_wait(&wait, started_ns);
  me.guard--;
}

static void timed_sync(dispatch_sync_function *sync, void *queue, void *context, void (*function)(void *)) {
  struct sync_work work = {context, function, 0};
  uint64_t start = prof_now_ns(CLOCK_MONOTONIC);
  sync(queue, &work, run_sync_work);
  sync_waited(start, work.started_ns);
}

// Only block mode counts a queue's waits: a queue has no holder for mutex mode.
static inline bool times_queues(void) { return block_rate_ns != 0 && is_recording(); }

// libdispatch tells a dispatch_block_create block by its invoke function, which
// its exported variable _dispatch_block_special_invoke holds. Not found: every
// block is passed through, untimed, rather than risk its semantics.
static bool is_dispatch_block_with_data(void *block) {
  void (*const *special)(void *) = REAL(dispatch_block_special_invoke, "_dispatch_block_special_invoke");
  return special == NULL || ((struct block_layout *)block)->invoke == *special;
}

PROF_INTERPOSE void dispatch_sync_f(void *queue, void *context, void (*function)(void *)) {
  dispatch_sync_function *sync = REAL(dispatch_sync_f, "dispatch_sync_f");
  if (!times_queues()) return sync(queue, context, function);
  timed_sync(sync, queue, context, function);
}

PROF_INTERPOSE void dispatch_barrier_sync_f(void *queue, void *context, void (*function)(void *)) {
  dispatch_sync_function *sync = REAL(dispatch_barrier_sync_f, "dispatch_barrier_sync_f");
  if (!times_queues()) return sync(queue, context, function);
  timed_sync(sync, queue, context, function);
}

// A block becomes its invoke function: what libdispatch's own dispatch_sync does.
PROF_INTERPOSE void dispatch_sync(void *queue, void *block) {
  if (!times_queues() || is_dispatch_block_with_data(block))
    return REAL(dispatch_sync, "dispatch_sync")(queue, block);
  timed_sync(REAL(dispatch_sync_f, "dispatch_sync_f"), queue, block, run_sync_block);
}

PROF_INTERPOSE void dispatch_barrier_sync(void *queue, void *block) {
  if (!times_queues() || is_dispatch_block_with_data(block))
    return REAL(dispatch_barrier_sync, "dispatch_barrier_sync")(queue, block);
  timed_sync(REAL(dispatch_barrier_sync_f, "dispatch_barrier_sync_f"), queue, block, run_sync_block);
}

// A group wait returns at once when the group is empty (or the timeout is now);
// otherwise it waits on a futex inside libdispatch. So the whole call is timed, and
// one that returned within DISPATCH_UNCONTENDED_NS did not wait. Timed out or not,
// it waited (as a timed lock that ran out).
PROF_INTERPOSE long dispatch_group_wait(void *group, uint64_t timeout) {
  long (*wait)(void *, uint64_t) = REAL(dispatch_group_wait, "dispatch_group_wait");
  if (!times_queues()) return wait(group, timeout);
  uint64_t start = prof_now_ns(CLOCK_MONOTONIC);
  long result = wait(group, timeout);
  int saved_errno = errno;
  sync_waited(start, prof_now_ns(CLOCK_MONOTONIC));
  errno = saved_errno;
  return result;
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
  if (real_swift_lock_slow == NULL) real_swift_lock_slow = (swift_lock_slow *)find_real(MUTEX_LOCK_SLOW, true);
  if (!is_recording()) return real_swift_lock_slow(owner, handle);
  struct wait wait = wait_begins(handle, __atomic_load_n((uint32_t *)handle, __ATOMIC_RELAXED) & FUTEX_TID_MASK);
  real_swift_lock_slow(owner, handle);
  wait_ends(wait, true);
}

SWIFT_CALL void swift_mutex_unlock_slow(void *SWIFT_SELF handle) {
  if (real_swift_unlock_slow == NULL) real_swift_unlock_slow = (swift_unlock_slow *)find_real(MUTEX_UNLOCK_SLOW, true);
  releasing(handle);
  real_swift_unlock_slow(handle);
}

// --- lifecycle -------------------------------------------------------------

static void start(void) {
  if (prof_config.block_rate_ns == 0 && prof_config.mutex_fraction == 0 && prof_config.lock_wait_ns == 0) return;
  // A dormant agent's window: recording runs since the process started; the new
  // stream gets every stack and every (cumulative) count again.
  if (atomic_load(&recording)) return prof_contention_table_resend();
  me.guard++;
  find_real_functions();
  bool profiling = prof_config.block_rate_ns != 0 || prof_config.mutex_fraction != 0;
  bool ready = !profiling || (prof_lock_slots_init() && prof_contention_table_init());
  me.guard--;
  if (!ready) return;
  block_rate_ns = prof_config.block_rate_ns;
  mutex_fraction = prof_config.mutex_fraction;
  lock_wait_ns = prof_config.lock_wait_ns;
  atomic_store(&recording, true);
}

static void stop(void) { atomic_store(&recording, false); }

// A dormant agent started with PROF_BLOCK_RATE or PROF_MUTEX_FRACTION (`prof run
// --block/--mutex`) records from the start, without a stream, for the control
// channel's `block` and `mutex` snapshots, as `prof run --heap` tracks the heap.
void prof_contention_start_dormant(void) {
  if (prof_config.block_rate_ns == 0 && prof_config.mutex_fraction == 0) return;
  me.guard++;
  prof_unwind_init();  // else stacks come from frame pointers, as before any window
  me.guard--;
  start();
}

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

static const struct prof_fork_hold table_hold = {prof_contention_table_lock, prof_contention_table_unlock};

static void fork_prepare(void) {
  if (!atomic_load(&recording) || !prof_children_followed()) return;
  prof_fork_hold_prepare(&table_hold, &holds_table_for_fork, &me.guard);
}

static void fork_parent(void) { prof_fork_hold_parent(&table_hold, &holds_table_for_fork, &me.guard); }

static void fork_child(bool following) {
  if (!prof_fork_hold_child(&table_hold, &holds_table_for_fork, following, &me.guard, stop)) return;
  guarded_until_child_starts = true;  // the child's writer starts before its hooks record
  if (block_rate_ns != 0 || mutex_fraction != 0) {
    prof_contention_table_reset();
    prof_lock_slots_reset();
  }
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
  find_real_functions();
}
