// Contention mode's parts: the lock hooks (contention.c), the table of stacks
// with their counts they share with the writer (contention_table.c), and mutex
// mode's lock slots (contention_slots.c).
#ifndef PROF_AGENT_CONTENTION_H
#define PROF_AGENT_CONTENTION_H

#include <stdbool.h>
#include <stdint.h>

#define PROF_CONTENTION_NO_BUCKET UINT32_MAX

bool prof_contention_table_init(void);
struct prof_hook_stack;
uint32_t prof_contention_bucket_for(const struct prof_hook_stack *stack);
// Adds to a bucket's cumulative counts; contentions in PROF_CONTENTION_ONE units.
void prof_contention_add_block(uint32_t bucket, uint64_t contentions, uint64_t delay_ns);
void prof_contention_add_mutex(uint32_t bucket, uint64_t contentions, uint64_t delay_ns);
void prof_contention_emit_buckets(void);  // the writer: new stacks, then changed counts
void prof_contention_table_lock(void);
void prof_contention_table_unlock(void);
void prof_contention_table_reset(void);  // a followed child starts from empty counts
void prof_contention_table_resend(void);  // a control-channel window: every stack and count again

// Mutex mode: each lock with waiters has a slot that integrates waiters × time.
// Times are CLOCK_MONOTONIC ns; fraction is PROF_MUTEX_FRACTION.
bool prof_lock_slots_init(void);
void prof_lock_slots_reset(void);  // a followed child: other threads' waits are not its own
// false: another lock holds the slot, so this wait is not tracked.
bool prof_lock_slot_waiter_arrives(const void *lock, uint64_t now_ns);
// The waiter's one contention and its last stretch go to the release it followed.
void prof_lock_slot_waiter_leaves(const void *lock, uint64_t now_ns, uint64_t fraction);
bool prof_lock_slot_has_waiters(const void *lock);
// Before the real release: what accrued is charged to bucket (NO_BUCKET: not sampled).
void prof_lock_slot_released(const void *lock, uint32_t bucket, uint64_t fraction);

#endif
