// Mutex mode's lock slots: each lock with waiters has one (direct-mapped by the
// lock's address, a spinlock each) that integrates waiters × time. A release
// charges what accrued since the last charge to its own stack before the real
// unlock, so no waiter can acquire and leave first; a waiter that then acquires
// charges its wake-up stretch and its one contention to that release. So the
// total charged is the total waited. A second lock hashing to an occupied slot is
// not tracked. The spinlocks are never held across a call into the program's locks.
#include <string.h>

#include "agent.h"
#include "contention.h"
#include "stack_table.h"

#define LOCK_SLOTS 4096u

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

bool prof_lock_slots_init(void) {
  if (lock_slots == NULL) lock_slots = prof_map(LOCK_SLOTS * sizeof *lock_slots);
  return lock_slots != NULL;
}

void prof_lock_slots_reset(void) {
  if (lock_slots != NULL) memset(lock_slots, 0, LOCK_SLOTS * sizeof *lock_slots);
}

static struct lock_slot *slot_of(const void *lock) {
  uint64_t hash = (uintptr_t)lock * 0x9e3779b97f4a7c15ull;
  return &lock_slots[(hash >> 32) & (LOCK_SLOTS - 1)];
}

// Threads read the clock before they take the slot, so a time may be behind
// since_ns: it adds nothing and never moves since_ns back (which would count the
// stretch between twice).
static void accrue(struct lock_slot *slot, uint64_t now) {
  if (now <= slot->since_ns) return;
  slot->owed_ns += (now - slot->since_ns) * atomic_load_explicit(&slot->waiters, memory_order_relaxed);
  slot->since_ns = now;
}

bool prof_lock_slot_waiter_arrives(const void *lock, uint64_t now) {
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
  return tracked;
}

void prof_lock_slot_waiter_leaves(const void *lock, uint64_t now, uint64_t fraction) {
  struct lock_slot *slot = slot_of(lock);
  prof_spin_lock(&slot->busy);
  accrue(slot, now);
  uint32_t waiters = atomic_fetch_sub_explicit(&slot->waiters, 1, memory_order_relaxed) - 1;
  if (slot->release_seen) {
    if (slot->release_bucket != PROF_CONTENTION_NO_BUCKET)
      prof_contention_add_mutex(slot->release_bucket, fraction * PROF_CONTENTION_ONE, slot->owed_ns * fraction);
    slot->owed_ns = 0;
  }
  if (waiters == 0) atomic_store_explicit(&slot->lock, 0, memory_order_relaxed);
  prof_spin_unlock(&slot->busy);
}

bool prof_lock_slot_has_waiters(const void *lock) {
  const struct lock_slot *slot = slot_of(lock);
  return atomic_load_explicit(&slot->lock, memory_order_relaxed) == (uintptr_t)lock &&
         atomic_load_explicit(&slot->waiters, memory_order_relaxed) > 0;
}

void prof_lock_slot_released(const void *lock, uint32_t bucket, uint64_t fraction) {
  struct lock_slot *slot = slot_of(lock);
  prof_spin_lock(&slot->busy);
  if (atomic_load_explicit(&slot->lock, memory_order_relaxed) == (uintptr_t)lock) {
    accrue(slot, prof_now_ns(CLOCK_MONOTONIC));
    if (bucket != PROF_CONTENTION_NO_BUCKET) prof_contention_add_mutex(bucket, 0, slot->owed_ns * fraction);
    slot->owed_ns = 0;
    slot->release_bucket = bucket;
    slot->release_seen = true;
  }
  prof_spin_unlock(&slot->busy);
}
