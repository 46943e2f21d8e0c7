// The stack table (stack_table.h): open addressing over dense ids, never more
// than half full; frames in one arena, touched as used.
#define _GNU_SOURCE
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include "agent.h"
#include "stack_table.h"

#define MAX_TOTAL_FRAMES (1u << 24)  // 128 MiB of address space per table, touched as used

struct prof_stack_entry {
  uint64_t hash;
  uint32_t depth;
  uint32_t truncated;
  uint64_t first_frame;  // index into frame_arena
  uint32_t async_count;  // async entries after the frames in the arena, two words each
};

// A stack's key: its frames, then its canonical async entries (prof_async_canonicalize).
struct key {
  const uint64_t *frames;
  uint32_t depth;
  bool truncated;
  const struct prof_async_entry *async;
  uint32_t async_count;
};

#define ASYNC_WORDS(count) ((uint64_t)(count) * (sizeof(struct prof_async_entry) / sizeof(uint64_t)))

void *prof_map(size_t bytes) {
  void *memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return memory == MAP_FAILED ? NULL : memory;
}

void prof_spin_lock(atomic_flag *lock) {
  while (atomic_flag_test_and_set_explicit(lock, memory_order_acquire)) sched_yield();
}

void prof_spin_unlock(atomic_flag *lock) { atomic_flag_clear_explicit(lock, memory_order_release); }

bool prof_stack_table_init(struct prof_stack_table *table, uint32_t capacity) {
  table->capacity = capacity;
  table->entries = prof_map(capacity * sizeof *table->entries);
  table->slots = prof_map(2 * (size_t)capacity * sizeof *table->slots);
  table->frame_arena = prof_map(MAX_TOTAL_FRAMES * sizeof *table->frame_arena);
  atomic_flag_clear(&table->lock);
  return table->entries && table->slots && table->frame_arena;
}

// One multiply per frame on the critical path, the mixing once at the end: exact
// heap mode hashes a stack per allocation.
static uint64_t hash_key(const struct key *key) {
  uint64_t hash = key->depth * 2 + key->truncated;
  for (uint32_t i = 0; i < key->depth; i++) hash = (hash ^ key->frames[i]) * 0x9e3779b97f4a7c15ull;
  const uint64_t *async = (const uint64_t *)key->async;
  for (uint64_t i = 0; i < ASYNC_WORDS(key->async_count); i++) hash = (hash ^ async[i]) * 0x9e3779b97f4a7c15ull;
  return hash ^ (hash >> 29);
}

static bool same_key(const struct prof_stack_table *table, const struct prof_stack_entry *stack, uint64_t hash,
                     const struct key *key) {
  const uint64_t *stored = table->frame_arena + stack->first_frame;
  return stack->hash == hash && stack->depth == key->depth && stack->truncated == key->truncated &&
         stack->async_count == key->async_count && memcmp(stored, key->frames, key->depth * sizeof *stored) == 0 &&
         memcmp(stored + key->depth, key->async, key->async_count * sizeof *key->async) == 0;
}

// The id of this stack, or PROF_NO_STACK and the empty slot where it belongs.
static uint32_t find(const struct prof_stack_table *table, uint64_t hash, const struct key *key,
                     uint32_t *empty_slot) {
  uint32_t mask = 2 * table->capacity - 1;
  for (uint32_t slot = (uint32_t)hash & mask;; slot = (slot + 1) & mask) {
    uint32_t entry = atomic_load_explicit(&table->slots[slot], memory_order_acquire);
    if (entry == 0) {
      *empty_slot = slot;
      return PROF_NO_STACK;
    }
    if (same_key(table, &table->entries[entry - 1], hash, key)) return entry - 1;
  }
}

// Under the table's lock. The entry is complete before its id is published.
static uint32_t add(struct prof_stack_table *table, uint64_t hash, const struct key *key, uint32_t slot) {
  uint32_t id = atomic_load_explicit(&table->count, memory_order_relaxed);
  uint64_t words = key->depth + ASYNC_WORDS(key->async_count);
  if (id == table->capacity || table->frames_used + words > MAX_TOTAL_FRAMES) return PROF_NO_STACK;
  struct prof_stack_entry *stack = &table->entries[id];
  stack->hash = hash;
  stack->depth = key->depth;
  stack->truncated = key->truncated;
  stack->async_count = key->async_count;
  stack->first_frame = table->frames_used;
  uint64_t *stored = table->frame_arena + table->frames_used;
  memcpy(stored, key->frames, key->depth * sizeof *stored);
  memcpy(stored + key->depth, key->async, key->async_count * sizeof *key->async);
  table->frames_used += words;
  atomic_store_explicit(&table->count, id + 1, memory_order_release);
  atomic_store_explicit(&table->slots[slot], id + 1, memory_order_release);
  return id;
}

uint32_t prof_stack_id(struct prof_stack_table *table, const uint64_t *frames, uint32_t depth, bool truncated,
                       const struct prof_async_entry *async, uint32_t async_count) {
  struct key key = {frames, depth, truncated, async, async_count};
  uint64_t hash = hash_key(&key);
  uint32_t slot;
  uint32_t id = find(table, hash, &key, &slot);
  if (id != PROF_NO_STACK) return id;
  prof_spin_lock(&table->lock);
  id = find(table, hash, &key, &slot);  // another thread may have added it
  if (id == PROF_NO_STACK) id = add(table, hash, &key, slot);
  prof_spin_unlock(&table->lock);
  return id;
}

// A bucket's async candidates go just before its definition (BUCKET_ASYNC).
static void emit_async(uint32_t id, uint32_t bucket_type, const uint64_t *entries, uint32_t count) {
  struct prof_bucket_async_record record;
  uint32_t size = (uint32_t)(offsetof(struct prof_bucket_async_record, entries) + count * sizeof *record.entries);
  record.header = (struct prof_record_header){PROF_REC_BUCKET_ASYNC, size};
  record.bucket_type = bucket_type;
  record.bucket = id;
  record.count = count;
  record.reserved = 0;
  memcpy(record.entries, entries, count * sizeof *record.entries);
  prof_output_append(&record, size);
}

uint32_t prof_stack_table_emit_new(struct prof_stack_table *table, uint32_t type) {
  uint32_t count = atomic_load_explicit(&table->count, memory_order_acquire);
  for (; table->sent < count; table->sent++) {
    const struct prof_stack_entry *stack = &table->entries[table->sent];
    const uint64_t *stored = table->frame_arena + stack->first_frame;
    if (stack->async_count > 0) emit_async(table->sent, type, stored + stack->depth, stack->async_count);
    struct prof_heap_bucket_record record;
    uint32_t size = (uint32_t)(offsetof(struct prof_heap_bucket_record, frames) + stack->depth * sizeof(uint64_t));
    record.header = (struct prof_record_header){type, size};
    record.id = table->sent;
    record.depth = stack->depth;
    record.truncated = stack->truncated;
    record.reserved = 0;
    memcpy(record.frames, stored, stack->depth * sizeof(uint64_t));
    prof_output_append(&record, size);
  }
  return count;
}

void prof_stack_table_lock(struct prof_stack_table *table) { prof_spin_lock(&table->lock); }

void prof_stack_table_unlock(struct prof_stack_table *table) { prof_spin_unlock(&table->lock); }

void prof_stack_table_resend(struct prof_stack_table *table) { table->sent = 0; }

void prof_send_counts(void *record, uint32_t type, size_t entries_offset, uint32_t *count, size_t entry_size) {
  struct prof_record_header *header = record;
  *header = (struct prof_record_header){type, (uint32_t)(entries_offset + *count * entry_size)};
  prof_output_append(record, header->size);
  *count = 0;
}

void prof_fork_hold_prepare(const struct prof_fork_hold *hold, bool *held, unsigned *guard) {
  (*guard)++;
  hold->lock();
  *held = true;
}

void prof_fork_hold_parent(const struct prof_fork_hold *hold, bool *held, unsigned *guard) {
  if (!*held) return;
  *held = false;
  hold->unlock();
  (*guard)--;
}

bool prof_fork_hold_child(const struct prof_fork_hold *hold, bool *held, bool following, unsigned *guard,
                          void (*stop)(void)) {
  bool was_held = *held;
  *held = false;
  if (was_held) hold->unlock();
  if (following && was_held) return true;
  stop();
  if (was_held) (*guard)--;
  return false;
}
