// What a sampled block stands for, shared by the hooks (heap.c) and the tables
// (heap_table.c), without libm: linking libm would load it into every program.
#include "agent.h"
#include "heap.h"

uint64_t prof_heap_sample_rate = 1;

// exp(x) - 1 for x <= 0, without libm either: a series near 0, where exp(x) - 1
// would cancel; elsewhere exp(x) = 2^n exp(r), |r| <= ln 2 / 2, by its series.
static double exp_minus_one(double x) {
  if (x < -45) return -1;  // exp(x) below 2^-64
  double term = 1, sum = 0;
  if (x > -0.5) {
    for (int k = 1; k <= 18; k++) sum += term *= x / k;
    return sum;
  }
  int n = (int)(x / 0.69314718055994530942 - 0.5);
  double r = x - n * 0.69314718055994530942;
  for (int k = 1; k <= 18; k++) sum += term *= r / k;
  uint64_t bits = (uint64_t)(n + 1023) << 52;  // 2^n, n >= -65
  double power;
  __builtin_memcpy(&power, &bits, sizeof power);
  return (1 + sum) * power - 1;
}

// A block of s bytes holds a sample point with probability p = 1 - exp(-s/rate): it
// stands for 1/p blocks and s/p bytes. Per block, not per stack (Go scales a stack
// by its average size, which undercounts a stack of mixed sizes many times over).
// An empty block stands for itself: it cannot be sampled but at a thread's start.
struct prof_heap_estimate prof_heap_estimate(uint64_t size) {
  if (prof_heap_sample_rate == 1 || size == 0) return (struct prof_heap_estimate){PROF_HEAP_ESTIMATE_ONE, size};
  double blocks = -1 / exp_minus_one(-(double)size / (double)prof_heap_sample_rate);
  return (struct prof_heap_estimate){(uint64_t)(blocks * PROF_HEAP_ESTIMATE_ONE + 0.5),
                                     (uint64_t)(blocks * (double)size + 0.5)};
}
