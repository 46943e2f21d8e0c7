// The two tables behind heap mode, in mmap'd memory (never malloc: the hooks run
// inside it). Buckets: one per distinct stack of sampled allocations (stack_table.h),
// with atomic cumulative counts. Live blocks: sampled address -> (bucket, size), sharded by address (see
// heap.h) with a spinlock per shard.
#define _GNU_SOURCE
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#include "agent.h"
#include "heap.h"
#include "stack_table.h"

#define MAX_BUCKETS (1u << 18)
#define FIRST_SHARD_CAPACITY 16u

struct bucket {
  _Atomic uint64_t alloc_objects;
  _Atomic uint64_t alloc_bytes;
  _Atomic uint64_t free_objects;
  _Atomic uint64_t free_bytes;
  _Atomic uint64_t estimated_alloc_objects;  // unbiased per block: prof_heap_estimate
  _Atomic uint64_t estimated_alloc_bytes;
  _Atomic uint64_t estimated_free_objects;
  _Atomic uint64_t estimated_free_bytes;
  _Atomic bool dirty;  // counts changed since the writer last sent them
};

struct live_slot {
  uintptr_t address;  // 0: empty
  uint64_t size;
  uint32_t bucket;
};

struct shard {
  atomic_flag lock;
  uint32_t count;
  uint32_t capacity;  // a power of two, or 0 before the first insert
  struct live_slot *slots;
};

_Atomic uint64_t prof_heap_live_shards[PROF_HEAP_SHARDS / 64];  // a shard's bit changes under its lock

static struct prof_stack_table stacks;
static struct bucket *buckets;  // counts, by stack id
static struct shard *shards;
static struct live_slot *first_slots;  // every shard's first slots: one mapping, not one per shard

bool prof_heap_tables_init(void) {
  buckets = prof_map(MAX_BUCKETS * sizeof *buckets);
  shards = prof_map(PROF_HEAP_SHARDS * sizeof *shards);
  first_slots = prof_map(PROF_HEAP_SHARDS * FIRST_SHARD_CAPACITY * sizeof *first_slots);
  return prof_stack_table_init(&stacks, MAX_BUCKETS) && buckets && shards && first_slots;
}

// --- buckets ---------------------------------------------------------------

uint32_t prof_heap_bucket_for(const struct prof_hook_stack *stack) {
  uint32_t id = prof_stack_id(&stacks, stack->frames, stack->depth, stack->truncated, stack->async, stack->async_count);
  return id == PROF_NO_STACK ? PROF_HEAP_NO_BUCKET : id;
}

static void mark_dirty(struct bucket *bucket) {
  if (!atomic_load_explicit(&bucket->dirty, memory_order_relaxed))
    atomic_store_explicit(&bucket->dirty, true, memory_order_release);
}

void prof_heap_bucket_allocated(uint32_t id, uint64_t size) {
  struct bucket *bucket = &buckets[id];
  atomic_fetch_add_explicit(&bucket->alloc_objects, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&bucket->alloc_bytes, size, memory_order_relaxed);
  struct prof_heap_estimate estimate = prof_heap_estimate(size);
  atomic_fetch_add_explicit(&bucket->estimated_alloc_objects, estimate.objects, memory_order_relaxed);
  atomic_fetch_add_explicit(&bucket->estimated_alloc_bytes, estimate.bytes, memory_order_relaxed);
  mark_dirty(bucket);
}

void prof_heap_bucket_freed(uint32_t id, uint64_t size) {
  struct bucket *bucket = &buckets[id];
  atomic_fetch_add_explicit(&bucket->free_objects, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&bucket->free_bytes, size, memory_order_relaxed);
  struct prof_heap_estimate estimate = prof_heap_estimate(size);  // the same as at its allocation
  atomic_fetch_add_explicit(&bucket->estimated_free_objects, estimate.objects, memory_order_relaxed);
  atomic_fetch_add_explicit(&bucket->estimated_free_bytes, estimate.bytes, memory_order_relaxed);
  mark_dirty(bucket);
}

// --- live blocks -----------------------------------------------------------


// The slot holding address, or the empty slot where it belongs. Under the shard's lock.
static uint32_t probe(const struct shard *shard, uintptr_t address, uint64_t hash) {
  uint32_t mask = shard->capacity - 1;
  uint32_t slot = (uint32_t)hash & mask;
  while (shard->slots[slot].address != 0 && shard->slots[slot].address != address) slot = (slot + 1) & mask;
  return slot;
}

static bool grow(struct shard *shard) {
  if (shard->capacity == 0) {
    shard->capacity = FIRST_SHARD_CAPACITY;
    shard->slots = first_slots + (shard - shards) * FIRST_SHARD_CAPACITY;
    return true;
  }
  uint32_t capacity = shard->capacity * 2;
  struct live_slot *old = shard->slots;
  struct shard grown = {.capacity = capacity, .slots = prof_map(capacity * sizeof *old)};
  if (grown.slots == NULL) return false;
  for (uint32_t i = 0; i < shard->capacity; i++) {
    if (old[i].address == 0) continue;
    grown.slots[probe(&grown, old[i].address, prof_heap_address_hash((void *)old[i].address))] = old[i];
  }
  if (shard->capacity > FIRST_SHARD_CAPACITY) munmap(old, shard->capacity * sizeof *old);
  shard->capacity = capacity;
  shard->slots = grown.slots;
  return true;
}

static void mark_shard(uint32_t index, bool holds_blocks) {
  uint64_t bit = 1ull << (index % 64);
  if (holds_blocks) atomic_fetch_or_explicit(&prof_heap_live_shards[index / 64], bit, memory_order_relaxed);
  else atomic_fetch_and_explicit(&prof_heap_live_shards[index / 64], ~bit, memory_order_relaxed);
}

bool prof_heap_live_insert(void *address, struct prof_live_block block) {
  uint64_t hash = prof_heap_address_hash(address);
  struct shard *shard = &shards[prof_heap_shard(hash)];
  prof_spin_lock(&shard->lock);
  if ((shard->count + 1) * 4 > shard->capacity * 3 && !grow(shard)) {
    prof_spin_unlock(&shard->lock);
    return false;
  }
  struct live_slot *slot = &shard->slots[probe(shard, (uintptr_t)address, hash)];
  // Still there: it was freed where we could not see it (a free inside one of our
  // own hooks, from a signal handler) and its address has been reused.
  if (slot->address != 0) prof_heap_bucket_freed(slot->bucket, slot->size);
  else if (shard->count++ == 0) mark_shard(prof_heap_shard(hash), true);
  *slot = (struct live_slot){(uintptr_t)address, block.size, block.bucket};
  prof_spin_unlock(&shard->lock);
  return true;
}

// Linear probing without tombstones: later entries of the run move back into the hole.
static void delete_slot(struct shard *shard, uint32_t hole) {
  uint32_t mask = shard->capacity - 1;
  for (uint32_t next = (hole + 1) & mask; shard->slots[next].address != 0; next = (next + 1) & mask) {
    uint32_t home = (uint32_t)prof_heap_address_hash((void *)shard->slots[next].address) & mask;
    if (((next - home) & mask) >= ((next - hole) & mask)) {
      shard->slots[hole] = shard->slots[next];
      hole = next;
    }
  }
  shard->slots[hole].address = 0;
}

bool prof_heap_live_remove(void *address, struct prof_live_block *removed) {
  if (!prof_heap_live_may_hold(address)) return false;
  uint64_t hash = prof_heap_address_hash(address);
  struct shard *shard = &shards[prof_heap_shard(hash)];
  prof_spin_lock(&shard->lock);
  bool found = false;
  if (shard->capacity != 0) {
    uint32_t slot = probe(shard, (uintptr_t)address, hash);
    if ((found = shard->slots[slot].address != 0)) {
      *removed = (struct prof_live_block){shard->slots[slot].bucket, shard->slots[slot].size};
      delete_slot(shard, slot);
      if (--shard->count == 0) mark_shard(prof_heap_shard(hash), false);
    }
  }
  prof_spin_unlock(&shard->lock);
  return found;
}

// --- the writer's side -----------------------------------------------------

static void emit_counts(struct prof_heap_counts_record *batch) {
  prof_send_counts(batch, PROF_REC_HEAP_COUNTS, offsetof(struct prof_heap_counts_record, counts), &batch->count,
                   sizeof batch->counts[0]);
}

// New stacks first, then the counts of every bucket that changed.
void prof_heap_emit_buckets(void) {
  static struct prof_heap_counts_record batch;
  uint32_t count = prof_stack_table_emit_new(&stacks, PROF_REC_HEAP_BUCKET);
  for (uint32_t id = 0; id < count; id++) {
    struct bucket *bucket = &buckets[id];
    if (!prof_bucket_take_dirty(&bucket->dirty)) continue;
    batch.counts[batch.count++] = (struct prof_heap_count){
        .bucket = id,
        .alloc_objects = atomic_load_explicit(&bucket->alloc_objects, memory_order_relaxed),
        .alloc_bytes = atomic_load_explicit(&bucket->alloc_bytes, memory_order_relaxed),
        .free_objects = atomic_load_explicit(&bucket->free_objects, memory_order_relaxed),
        .free_bytes = atomic_load_explicit(&bucket->free_bytes, memory_order_relaxed),
        .estimated_alloc_objects = atomic_load_explicit(&bucket->estimated_alloc_objects, memory_order_relaxed),
        .estimated_alloc_bytes = atomic_load_explicit(&bucket->estimated_alloc_bytes, memory_order_relaxed),
        .estimated_free_objects = atomic_load_explicit(&bucket->estimated_free_objects, memory_order_relaxed),
        .estimated_free_bytes = atomic_load_explicit(&bucket->estimated_free_bytes, memory_order_relaxed),
    };
    if (batch.count == PROF_HEAP_COUNTS_MAX) emit_counts(&batch);
  }
  if (batch.count > 0) emit_counts(&batch);
}

// A new stream (a control-channel window) gets every stack and every count again.
void prof_heap_tables_resend(void) {
  uint32_t count = atomic_load_explicit(&stacks.count, memory_order_acquire);
  for (uint32_t id = 0; id < count; id++) atomic_store(&buckets[id].dirty, true);
  prof_stack_table_resend(&stacks);
}

// --- fork ------------------------------------------------------------------

void prof_heap_tables_lock(void) {
  prof_stack_table_lock(&stacks);
  for (uint32_t i = 0; i < PROF_HEAP_SHARDS; i++) prof_spin_lock(&shards[i].lock);
}

void prof_heap_tables_unlock(void) {
  for (uint32_t i = 0; i < PROF_HEAP_SHARDS; i++) prof_spin_unlock(&shards[i].lock);
  prof_stack_table_unlock(&stacks);
}

// Single-threaded (a child right after fork): the child's profile counts only its
// own allocations, and every stack is sent again on its own stream.
void prof_heap_tables_reset(void) {
  uint32_t count = atomic_load_explicit(&stacks.count, memory_order_relaxed);
  for (uint32_t id = 0; id < count; id++) {
    struct bucket *bucket = &buckets[id];
    atomic_store(&bucket->alloc_objects, 0);
    atomic_store(&bucket->alloc_bytes, 0);
    atomic_store(&bucket->free_objects, 0);
    atomic_store(&bucket->free_bytes, 0);
    atomic_store(&bucket->estimated_alloc_objects, 0);
    atomic_store(&bucket->estimated_alloc_bytes, 0);
    atomic_store(&bucket->estimated_free_objects, 0);
    atomic_store(&bucket->estimated_free_bytes, 0);
    atomic_store(&bucket->dirty, false);
  }
  memset(prof_heap_live_shards, 0, sizeof prof_heap_live_shards);
  for (uint32_t i = 0; i < PROF_HEAP_SHARDS; i++) {
    if (shards[i].slots) memset(shards[i].slots, 0, shards[i].capacity * sizeof *shards[i].slots);
    shards[i].count = 0;
  }
  prof_stack_table_resend(&stacks);
}
