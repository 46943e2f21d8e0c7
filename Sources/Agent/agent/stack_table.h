// Distinct stacks, interned to dense ids, in mmap'd memory (never malloc: the
// hooks that use it may run inside malloc). Looked up without a lock, added under
// one (new stacks are rare). Heap and contention mode keep their counts per id.
#ifndef PROF_AGENT_STACK_TABLE_H
#define PROF_AGENT_STACK_TABLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define PROF_NO_STACK UINT32_MAX

struct prof_stack_entry;

struct prof_stack_table {
  uint32_t capacity;                   // ids; slots are twice as many
  struct prof_stack_entry *entries;
  _Atomic uint32_t *slots;             // id + 1; 0 is empty
  uint64_t *frame_arena;
  uint64_t frames_used;                // under lock
  _Atomic uint32_t count;              // published with release after an entry is complete
  atomic_flag lock;
  uint32_t sent;                       // the writer's: ids whose definitions it sent
};

bool prof_stack_table_init(struct prof_stack_table *table, uint32_t capacity);
// async: the stack's canonical async entries (prof_async_canonicalize), part of its key.
uint32_t prof_stack_id(struct prof_stack_table *table, const uint64_t *frames, uint32_t depth, bool truncated,
                       const struct prof_async_entry *async, uint32_t async_count);
// Writes the definitions of stacks added since the last call, as records of `type`
// (the layout of prof_heap_bucket_record), each after its BUCKET_ASYNC if it has
// async entries; returns the number of ids defined.
uint32_t prof_stack_table_emit_new(struct prof_stack_table *table, uint32_t type);
void prof_stack_table_lock(struct prof_stack_table *table);
void prof_stack_table_unlock(struct prof_stack_table *table);
void prof_stack_table_resend(struct prof_stack_table *table);  // a followed child's stream defines them all again

// The writer's side of the per-bucket counts (heap and contention mode).
// Whether a bucket changed since it was last sent, clearing the mark.
static inline bool prof_bucket_take_dirty(_Atomic bool *dirty) {
  return atomic_load_explicit(dirty, memory_order_relaxed) &&
         atomic_exchange_explicit(dirty, false, memory_order_acq_rel);
}
// Sends a counts record (a prof_record_header, then `count` entries of `entry_size`
// bytes from `entries_offset`) and empties it.
void prof_send_counts(void *record, uint32_t type, size_t entries_offset, uint32_t *count, size_t entry_size);

// Fork with followed children: the forking thread holds a mode's table lock across
// fork, so that no other thread is mid-insert when the process is copied, with its
// hooks guarded meanwhile (other libraries' atfork handlers allocate and lock).
// `held` is the forking thread's own (thread-local) mark.
struct prof_fork_hold {
  void (*lock)(void);
  void (*unlock)(void);
};
void prof_fork_hold_prepare(const struct prof_fork_hold *hold, bool *held, unsigned *guard);
void prof_fork_hold_parent(const struct prof_fork_hold *hold, bool *held, unsigned *guard);
// The child's side: unlocks what prepare locked. Returns whether the child records
// on (it is followed and the tables were held: the guard stays raised until it
// starts); otherwise `stop` has run and the guard is down again.
bool prof_fork_hold_child(const struct prof_fork_hold *hold, bool *held, bool following, unsigned *guard,
                          void (*stop)(void));

#include <stddef.h>
void *prof_map(size_t bytes);  // zeroed, reserved lazily; NULL when it fails
void prof_spin_lock(atomic_flag *lock);
void prof_spin_unlock(atomic_flag *lock);
#endif
