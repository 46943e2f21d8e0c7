// Heap mode's parts: the allocation hooks (heap.c) and the tables of stacks and
// live sampled blocks they share with the writer (heap_table.c).
#ifndef PROF_AGENT_HEAP_H
#define PROF_AGENT_HEAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

// heap.c: a subsystem of the lifecycle (its hooks), and for the agent's threads:
void prof_heap_ignore_this_thread(void);  // the agent's own threads are never tracked
void prof_heap_heed_this_thread(void);    // undoes one prof_heap_ignore_this_thread

// heap_estimate.c: what one sampled block of `size` bytes stands for, unbiased by
// its own size (prof_heap_count in prof_stream.h), at prof_heap_sample_rate.
struct prof_heap_estimate {
  uint64_t objects;  // in PROF_HEAP_ESTIMATE_ONE units
  uint64_t bytes;
};
struct prof_heap_estimate prof_heap_estimate(uint64_t size);
extern uint64_t prof_heap_sample_rate;  // mean bytes between samples; heap.c sets it when tracking starts

// heap_table.c: stacks (buckets) with their counts, and live sampled blocks.
#define PROF_HEAP_NO_BUCKET UINT32_MAX

struct prof_live_block {
  uint32_t bucket;
  uint64_t size;
};

// Live blocks are sharded by the top bits of their address's hash. One bit per
// shard says whether it holds any, read without a lock: freeing an unsampled block
// usually costs one load from this 2 KiB bitmap, small enough to stay in cache.
#define PROF_HEAP_SHARD_BITS 14
#define PROF_HEAP_SHARDS (1u << PROF_HEAP_SHARD_BITS)
extern _Atomic uint64_t prof_heap_live_shards[PROF_HEAP_SHARDS / 64];

static inline uint64_t prof_heap_address_hash(const void *address) {
  uint64_t hash = ((uintptr_t)address >> 4) * 0x9e3779b97f4a7c15ull;
  return hash ^ (hash >> 32);
}

static inline uint32_t prof_heap_shard(uint64_t hash) { return (uint32_t)(hash >> (64 - PROF_HEAP_SHARD_BITS)); }

// The program's own ordering puts the insert of a sampled block before its free.
static inline bool prof_heap_live_may_hold(const void *address) {
  uint32_t shard = prof_heap_shard(prof_heap_address_hash(address));
  return atomic_load_explicit(&prof_heap_live_shards[shard / 64], memory_order_relaxed) >> (shard % 64) & 1;
}

bool prof_heap_tables_init(void);
struct prof_hook_stack;
uint32_t prof_heap_bucket_for(const struct prof_hook_stack *stack);
void prof_heap_bucket_allocated(uint32_t bucket, uint64_t size);
void prof_heap_bucket_freed(uint32_t bucket, uint64_t size);
bool prof_heap_live_insert(void *address, struct prof_live_block block);  // false: out of memory
bool prof_heap_live_remove(void *address, struct prof_live_block *removed);
void prof_heap_emit_buckets(void);
void prof_heap_tables_resend(void);  // the next emit sends everything, for a new stream
void prof_heap_tables_lock(void);
void prof_heap_tables_unlock(void);
void prof_heap_tables_reset(void);  // a followed child starts from empty counts

#endif
