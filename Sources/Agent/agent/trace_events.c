// The entry points the ProfTrace library looks up with dlsym: user spans,
// instants, counters and flows go through the same ring as samples.
#define _GNU_SOURCE
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "prof_agent.h"

PROF_INTERPOSE bool prof_trace_is_active(void) {
  return prof_config.tracing && atomic_load_explicit(&prof_sampling, memory_order_relaxed);
}

PROF_INTERPOSE void prof_trace_emit(uint32_t kind, const char *name, size_t name_len, int64_t value,
                                    uint64_t id) {
  if (!prof_trace_is_active()) return;
  if (name_len > PROF_TRACE_NAME_MAX) name_len = PROF_TRACE_NAME_MAX;
  uint64_t ticket;
  struct prof_trace_record *event = prof_ring_reserve_waiting(&ticket);
  if (event == NULL) {
    atomic_fetch_add_explicit(&prof_counters.dropped, 1, memory_order_relaxed);
    return;
  }
  size_t unpadded = sizeof *event + name_len;
  *event = (struct prof_trace_record){
      .header = {PROF_REC_TRACE, (uint32_t)((unpadded + 7) & ~(size_t)7)},
      .tid = (uint32_t)syscall(SYS_gettid),
      .kind = kind,
      .monotonic_ns = prof_now_ns(CLOCK_MONOTONIC),
      .value = value,
      .id = id,
      .name_len = (uint32_t)name_len,
  };
  char *bytes = (char *)(event + 1);
  memcpy(bytes, name, name_len);
  memset(bytes + name_len, 0, event->header.size - unpadded);
  prof_ring_publish(ticket);
}
