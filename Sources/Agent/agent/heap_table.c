// The two tables behind heap mode, in mmap'd memory (never malloc: the hooks run
// inside it). Buckets: one per distinct stack of sampled allocations, with atomic
// cumulative counts, looked up without a lock and added under one (new stacks are
// rare). Live blocks: sampled address -> (bucket, size), sharded by address (see
// heap.h) with a spinlock per shard.
#define _GNU_SOURCE
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#include "agent.h"
#include "heap.h"

#define MAX_BUCKETS (1u << 18)
#define BUCKET_SLOTS (2 * MAX_BUCKETS)  // open addressing, never more than half full
#define MAX_TOTAL_FRAMES (1u << 24)     // 128 MiB of address space, touched as used
#define FIRST_SHARD_CAPACITY 16u

struct bucket {
  uint64_t hash;
  uint32_t depth;
  uint32_t truncated;
  uint64_t first_frame;  // index into frame_arena
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

static struct bucket *buckets;
static _Atomic uint32_t *bucket_slots;  // bucket id + 1; 0 is empty
static uint64_t *frame_arena;
static uint64_t frames_used;             // under bucket_lock
static _Atomic uint32_t bucket_count;    // published with release after a bucket is complete
static atomic_flag bucket_lock = ATOMIC_FLAG_INIT;
static uint32_t buckets_sent;            // writer only
static struct shard *shards;
static struct live_slot *first_slots;  // every shard's first slots: one mapping, not one per shard

static void *map(size_t bytes) {
  void *memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return memory == MAP_FAILED ? NULL : memory;
}

static void spin_lock(atomic_flag *lock) {
  while (atomic_flag_test_and_set_explicit(lock, memory_order_acquire)) sched_yield();
}

static void spin_unlock(atomic_flag *lock) { atomic_flag_clear_explicit(lock, memory_order_release); }

bool prof_heap_tables_init(void) {
  buckets = map(MAX_BUCKETS * sizeof *buckets);
  bucket_slots = map(BUCKET_SLOTS * sizeof *bucket_slots);
  frame_arena = map(MAX_TOTAL_FRAMES * sizeof *frame_arena);
  shards = map(PROF_HEAP_SHARDS * sizeof *shards);
  first_slots = map(PROF_HEAP_SHARDS * FIRST_SHARD_CAPACITY * sizeof *first_slots);
  return buckets && bucket_slots && frame_arena && shards && first_slots;
}

// --- buckets ---------------------------------------------------------------

// One multiply per frame on the critical path, the mixing once at the end: exact
// mode hashes a stack per allocation.
static uint64_t hash_frames(const uint64_t *frames, uint32_t depth, bool truncated) {
  uint64_t hash = depth * 2 + truncated;
  for (uint32_t i = 0; i < depth; i++) hash = (hash ^ frames[i]) * 0x9e3779b97f4a7c15ull;
  return hash ^ (hash >> 29);
}

// The bucket holding this stack, or PROF_HEAP_NO_BUCKET and the empty slot where it belongs.
static uint32_t find_bucket(uint64_t hash, const uint64_t *frames, uint32_t depth, bool truncated,
                            uint32_t *empty_slot) {
  for (uint32_t slot = (uint32_t)hash & (BUCKET_SLOTS - 1);; slot = (slot + 1) & (BUCKET_SLOTS - 1)) {
    uint32_t entry = atomic_load_explicit(&bucket_slots[slot], memory_order_acquire);
    if (entry == 0) {
      *empty_slot = slot;
      return PROF_HEAP_NO_BUCKET;
    }
    const struct bucket *bucket = &buckets[entry - 1];
    if (bucket->hash == hash && bucket->depth == depth && bucket->truncated == truncated &&
        memcmp(frame_arena + bucket->first_frame, frames, depth * sizeof *frames) == 0)
      return entry - 1;
  }
}

// Under bucket_lock. The bucket is complete before its id is published.
static uint32_t add_bucket(uint64_t hash, const uint64_t *frames, uint32_t depth, bool truncated,
                           uint32_t slot) {
  uint32_t id = atomic_load_explicit(&bucket_count, memory_order_relaxed);
  if (id == MAX_BUCKETS || frames_used + depth > MAX_TOTAL_FRAMES) return PROF_HEAP_NO_BUCKET;
  struct bucket *bucket = &buckets[id];
  bucket->hash = hash;
  bucket->depth = depth;
  bucket->truncated = truncated;
  bucket->first_frame = frames_used;
  memcpy(frame_arena + frames_used, frames, depth * sizeof *frames);
  frames_used += depth;
  atomic_store_explicit(&bucket_count, id + 1, memory_order_release);
  atomic_store_explicit(&bucket_slots[slot], id + 1, memory_order_release);
  return id;
}

uint32_t prof_heap_bucket_for(const uint64_t *frames, uint32_t depth, bool truncated) {
  uint64_t hash = hash_frames(frames, depth, truncated);
  uint32_t slot;
  uint32_t id = find_bucket(hash, frames, depth, truncated, &slot);
  if (id != PROF_HEAP_NO_BUCKET) return id;
  spin_lock(&bucket_lock);
  id = find_bucket(hash, frames, depth, truncated, &slot);  // another thread may have added it
  if (id == PROF_HEAP_NO_BUCKET) id = add_bucket(hash, frames, depth, truncated, slot);
  spin_unlock(&bucket_lock);
  return id;
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
  struct shard grown = {.capacity = capacity, .slots = map(capacity * sizeof *old)};
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
  spin_lock(&shard->lock);
  if ((shard->count + 1) * 4 > shard->capacity * 3 && !grow(shard)) {
    spin_unlock(&shard->lock);
    return false;
  }
  struct live_slot *slot = &shard->slots[probe(shard, (uintptr_t)address, hash)];
  // Still there: it was freed where we could not see it (a free inside one of our
  // own hooks, from a signal handler) and its address has been reused.
  if (slot->address != 0) prof_heap_bucket_freed(slot->bucket, slot->size);
  else if (shard->count++ == 0) mark_shard(prof_heap_shard(hash), true);
  *slot = (struct live_slot){(uintptr_t)address, block.size, block.bucket};
  spin_unlock(&shard->lock);
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
  spin_lock(&shard->lock);
  bool found = false;
  if (shard->capacity != 0) {
    uint32_t slot = probe(shard, (uintptr_t)address, hash);
    if ((found = shard->slots[slot].address != 0)) {
      *removed = (struct prof_live_block){shard->slots[slot].bucket, shard->slots[slot].size};
      delete_slot(shard, slot);
      if (--shard->count == 0) mark_shard(prof_heap_shard(hash), false);
    }
  }
  spin_unlock(&shard->lock);
  return found;
}

// --- the writer's side -----------------------------------------------------

static void emit_definition(uint32_t id) {
  const struct bucket *bucket = &buckets[id];
  struct prof_heap_bucket_record record;
  uint32_t size = (uint32_t)(offsetof(struct prof_heap_bucket_record, frames) + bucket->depth * sizeof(uint64_t));
  record.header = (struct prof_record_header){PROF_REC_HEAP_BUCKET, size};
  record.id = id;
  record.depth = bucket->depth;
  record.truncated = bucket->truncated;
  record.reserved = 0;
  memcpy(record.frames, frame_arena + bucket->first_frame, bucket->depth * sizeof(uint64_t));
  prof_output_append(&record, size);
}

static void emit_counts(struct prof_heap_counts_record *batch) {
  batch->header = (struct prof_record_header){
      PROF_REC_HEAP_COUNTS,
      (uint32_t)(offsetof(struct prof_heap_counts_record, counts) + batch->count * sizeof(struct prof_heap_count))};
  prof_output_append(batch, batch->header.size);
  batch->count = 0;
}

// New stacks first, then the counts of every bucket that changed.
void prof_heap_emit_buckets(void) {
  static struct prof_heap_counts_record batch;
  uint32_t count = atomic_load_explicit(&bucket_count, memory_order_acquire);
  for (; buckets_sent < count; buckets_sent++) emit_definition(buckets_sent);
  for (uint32_t id = 0; id < count; id++) {
    struct bucket *bucket = &buckets[id];
    if (!atomic_load_explicit(&bucket->dirty, memory_order_relaxed) ||
        !atomic_exchange_explicit(&bucket->dirty, false, memory_order_acq_rel))
      continue;
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
  uint32_t count = atomic_load_explicit(&bucket_count, memory_order_acquire);
  for (uint32_t id = 0; id < count; id++) atomic_store(&buckets[id].dirty, true);
  buckets_sent = 0;
}

// --- fork ------------------------------------------------------------------

void prof_heap_tables_lock(void) {
  spin_lock(&bucket_lock);
  for (uint32_t i = 0; i < PROF_HEAP_SHARDS; i++) spin_lock(&shards[i].lock);
}

void prof_heap_tables_unlock(void) {
  for (uint32_t i = 0; i < PROF_HEAP_SHARDS; i++) spin_unlock(&shards[i].lock);
  spin_unlock(&bucket_lock);
}

// Single-threaded (a child right after fork): the child's profile counts only its
// own allocations, and every stack is sent again on its own stream.
void prof_heap_tables_reset(void) {
  uint32_t count = atomic_load_explicit(&bucket_count, memory_order_relaxed);
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
  buckets_sent = 0;
}
