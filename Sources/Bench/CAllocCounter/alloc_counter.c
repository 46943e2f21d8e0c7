// Interposes the malloc family by defining it in the executable: the dynamic
// linker resolves every library's malloc to these definitions, which forward
// to glibc's __libc_* entry points. glibc removed __malloc_hook in 2.34, and
// LD_PRELOAD would burden the user, so interposition is the way in-process.
#include "prof_alloc_counter.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

// Relaxed atomics: the counts are totals read after the timed window closes,
// so no ordering with other memory is needed, only no lost increments.
static atomic_int enabled;
static atomic_uint_fast64_t allocations;
static atomic_uint_fast64_t bytes;
static atomic_int seen_malloc;

static inline void count(size_t size) {
  if (atomic_load_explicit(&enabled, memory_order_relaxed)) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&bytes, size, memory_order_relaxed);
  }
}

void prof_alloc_counter_set_enabled(int on) {
  atomic_store_explicit(&enabled, on != 0, memory_order_relaxed);
}

void prof_alloc_counter_reset(void) {
  atomic_store_explicit(&allocations, 0, memory_order_relaxed);
  atomic_store_explicit(&bytes, 0, memory_order_relaxed);
}

uint64_t prof_alloc_counter_allocations(void) {
  return atomic_load_explicit(&allocations, memory_order_relaxed);
}

uint64_t prof_alloc_counter_bytes(void) {
  return atomic_load_explicit(&bytes, memory_order_relaxed);
}

int prof_alloc_counter_is_active(void) {
  // Any process has called malloc before main; if ours never ran, the
  // dynamic linker chose glibc's.
  return atomic_load_explicit(&seen_malloc, memory_order_relaxed);
}

void *malloc(size_t size) {
  // Load first so the steady state does not write a shared cache line.
  if (!atomic_load_explicit(&seen_malloc, memory_order_relaxed)) {
    atomic_store_explicit(&seen_malloc, 1, memory_order_relaxed);
  }
  count(size);
  return __libc_malloc(size);
}

void *calloc(size_t n, size_t size) {
  count(n * size);
  return __libc_calloc(n, size);
}

// Like Go, a realloc counts as an allocation of its new size.
void *realloc(void *ptr, size_t size) {
  count(size);
  return __libc_realloc(ptr, size);
}

void free(void *ptr) { __libc_free(ptr); }

void *memalign(size_t alignment, size_t size) {
  count(size);
  return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
  count(size);
  return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
  // POSIX: a power of two that is a multiple of sizeof(void *).
  if (alignment == 0 || alignment % sizeof(void *) != 0 ||
      (alignment & (alignment - 1)) != 0) {
    return EINVAL;
  }
  count(size);
  void *p = __libc_memalign(alignment, size);
  if (p == NULL) {
    return ENOMEM;
  }
  *out = p;
  return 0;
}

void *valloc(size_t size) {
  count(size);
  return __libc_valloc(size);
}

void *pvalloc(size_t size) {
  count(size);
  return __libc_pvalloc(size);
}
