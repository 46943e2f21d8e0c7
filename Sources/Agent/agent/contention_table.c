// Contention mode's counts: per stack (stack_table.h), atomic and cumulative,
// marked dirty so that each flush sends only the buckets that changed.
#include <string.h>

#include "agent.h"
#include "contention.h"
#include "stack_table.h"

#define MAX_BUCKETS (1u << 16)

struct bucket {
  _Atomic uint64_t block_contentions;  // PROF_CONTENTION_ONE units
  _Atomic uint64_t block_delay_ns;
  _Atomic uint64_t mutex_contentions;  // PROF_CONTENTION_ONE units
  _Atomic uint64_t mutex_delay_ns;
  _Atomic bool dirty;
};

static struct prof_stack_table stacks;
static struct bucket *buckets;  // by stack id

bool prof_contention_table_init(void) {
  buckets = prof_map(MAX_BUCKETS * sizeof *buckets);
  return buckets && prof_stack_table_init(&stacks, MAX_BUCKETS);
}

uint32_t prof_contention_bucket_for(const struct prof_hook_stack *stack) {
  uint32_t id = prof_stack_id(&stacks, stack->frames, stack->depth, stack->truncated, stack->async, stack->async_count);
  return id == PROF_NO_STACK ? PROF_CONTENTION_NO_BUCKET : id;
}

static void add(_Atomic uint64_t *contentions, _Atomic uint64_t *delay, _Atomic bool *dirty, uint64_t count,
                uint64_t delay_ns) {
  atomic_fetch_add_explicit(contentions, count, memory_order_relaxed);
  atomic_fetch_add_explicit(delay, delay_ns, memory_order_relaxed);
  if (!atomic_load_explicit(dirty, memory_order_relaxed)) atomic_store_explicit(dirty, true, memory_order_release);
}

void prof_contention_add_block(uint32_t id, uint64_t contentions, uint64_t delay_ns) {
  add(&buckets[id].block_contentions, &buckets[id].block_delay_ns, &buckets[id].dirty, contentions, delay_ns);
}

void prof_contention_add_mutex(uint32_t id, uint64_t contentions, uint64_t delay_ns) {
  add(&buckets[id].mutex_contentions, &buckets[id].mutex_delay_ns, &buckets[id].dirty, contentions, delay_ns);
}

static void emit_counts(struct prof_contention_counts_record *batch) {
  prof_send_counts(batch, PROF_REC_CONTENTION_COUNTS, offsetof(struct prof_contention_counts_record, counts),
                   &batch->count, sizeof batch->counts[0]);
}

// New stacks first, then the counts of every bucket that changed.
void prof_contention_emit_buckets(void) {
  static struct prof_contention_counts_record batch;
  uint32_t count = prof_stack_table_emit_new(&stacks, PROF_REC_CONTENTION_BUCKET);
  for (uint32_t id = 0; id < count; id++) {
    struct bucket *bucket = &buckets[id];
    if (!prof_bucket_take_dirty(&bucket->dirty)) continue;
    batch.counts[batch.count++] = (struct prof_contention_count){
        .bucket = id,
        .block_contentions = atomic_load_explicit(&bucket->block_contentions, memory_order_relaxed),
        .block_delay_ns = atomic_load_explicit(&bucket->block_delay_ns, memory_order_relaxed),
        .mutex_contentions = atomic_load_explicit(&bucket->mutex_contentions, memory_order_relaxed),
        .mutex_delay_ns = atomic_load_explicit(&bucket->mutex_delay_ns, memory_order_relaxed),
    };
    if (batch.count == PROF_CONTENTION_COUNTS_MAX) emit_counts(&batch);
  }
  if (batch.count > 0) emit_counts(&batch);
}

void prof_contention_table_lock(void) { prof_stack_table_lock(&stacks); }

void prof_contention_table_unlock(void) { prof_stack_table_unlock(&stacks); }

// Single-threaded (a child right after fork): its profile counts only its own waits.
void prof_contention_table_reset(void) {
  memset(buckets, 0, atomic_load_explicit(&stacks.count, memory_order_relaxed) * sizeof *buckets);
  prof_stack_table_resend(&stacks);
}

// A new stream (a control-channel window): every stack, and every bucket's counts, again.
void prof_contention_table_resend(void) {
  uint32_t count = atomic_load_explicit(&stacks.count, memory_order_relaxed);
  for (uint32_t id = 0; id < count; id++) atomic_store_explicit(&buckets[id].dirty, true, memory_order_release);
  prof_stack_table_resend(&stacks);
}
