#ifndef PROF_ALLOC_COUNTER_H
#define PROF_ALLOC_COUNTER_H

#include <stdint.h>

// Allocation counting for benchmark executables. The allocation functions of
// this target interpose glibc's malloc family in the executable that links
// it; they count calls and requested bytes of every thread, but only while
// counting is enabled (while a benchmark's timer runs).

/// Starts (non-zero) or stops (zero) counting.
void prof_alloc_counter_set_enabled(int enabled);

/// Zeroes both counters.
void prof_alloc_counter_reset(void);

/// Allocations counted since the last reset.
uint64_t prof_alloc_counter_allocations(void);

/// Bytes requested by those allocations.
uint64_t prof_alloc_counter_bytes(void);

/// Non-zero when this object's malloc is the one the process uses, that is
/// when the interposition works.
int prof_alloc_counter_is_active(void);

#endif
