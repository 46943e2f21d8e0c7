// Vyukov's bounded queue, specialised to one consumer: producers (signal handlers
// on any thread) claim a slot with one CAS, fill it, and publish it with a release
// store of its sequence number. No locks, no allocation after init.
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "agent.h"

#define SLOT_COUNT 2048u  // 2.2 MiB: 0.25 s of 8 threads at 1000 Hz between drains
#define SLOT_BYTES sizeof(struct prof_sample_record)
_Static_assert(sizeof(struct prof_async_record) <= SLOT_BYTES, "an ASYNC record fits a slot");

struct slot {
  _Atomic uint64_t sequence;
  uint64_t record[SLOT_BYTES / 8];
};

static struct slot *slots;
static _Atomic uint64_t enqueue_position;
static uint64_t dequeue_position;  // owned by the consumer

bool prof_ring_init(void) {
  if (slots != NULL) {  // a control-channel window after the first: the ring is there, and drained
    prof_ring_reset();
    return true;
  }
  slots = mmap(NULL, SLOT_COUNT * sizeof(struct slot), PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (slots == MAP_FAILED) {
    slots = NULL;
    return false;
  }
  prof_ring_reset();
  return true;
}

// Also after fork: a slot that a thread of the parent had reserved would never be
// published, and the consumer would wait for it forever.
void prof_ring_reset(void) {
  for (uint64_t i = 0; i < SLOT_COUNT; i++) atomic_store_explicit(&slots[i].sequence, i, memory_order_relaxed);
  atomic_store(&enqueue_position, 0);
  dequeue_position = 0;
}

void *prof_ring_reserve(uint64_t *ticket) {
  uint64_t position = atomic_load_explicit(&enqueue_position, memory_order_relaxed);
  for (;;) {
    struct slot *slot = &slots[position % SLOT_COUNT];
    uint64_t sequence = atomic_load_explicit(&slot->sequence, memory_order_acquire);
    int64_t lag = (int64_t)(sequence - position);
    if (lag == 0) {
      if (atomic_compare_exchange_weak_explicit(&enqueue_position, &position, position + 1,
                                                memory_order_relaxed, memory_order_relaxed)) {
        *ticket = position;
        return slot->record;
      }
    } else if (lag < 0) {
      return NULL;  // the consumer has not freed this slot yet: full
    } else {
      position = atomic_load_explicit(&enqueue_position, memory_order_relaxed);
    }
  }
}

void prof_ring_publish(uint64_t ticket) {
  atomic_store_explicit(&slots[ticket % SLOT_COUNT].sequence, ticket + 1, memory_order_release);
}

void *prof_ring_reserve_waiting(uint64_t *ticket) {
  const struct timespec pause = {0, 1000000};
  for (int attempt = 0; attempt < 1000; attempt++) {
    void *record = prof_ring_reserve(ticket);
    if (record) return record;
    nanosleep(&pause, NULL);
  }
  return NULL;
}

size_t prof_ring_drain(void (*consume)(const struct prof_record_header *)) {
  size_t drained = 0;
  for (;;) {
    struct slot *slot = &slots[dequeue_position % SLOT_COUNT];
    uint64_t sequence = atomic_load_explicit(&slot->sequence, memory_order_acquire);
    if (sequence != dequeue_position + 1) return drained;  // empty, or still being filled
    consume((const struct prof_record_header *)slot->record);
    atomic_store_explicit(&slot->sequence, dequeue_position + SLOT_COUNT, memory_order_release);
    dequeue_position++;
    drained++;
  }
}
