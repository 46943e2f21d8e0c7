// Contention mode's parts: the lock hooks (contention.c) and the table of stacks
// with their counts they share with the writer (contention_table.c).
#ifndef PROF_AGENT_CONTENTION_H
#define PROF_AGENT_CONTENTION_H

#include <stdbool.h>
#include <stdint.h>

#define PROF_CONTENTION_NO_BUCKET UINT32_MAX

bool prof_contention_table_init(void);
struct prof_hook_stack;
uint32_t prof_contention_bucket_for(const struct prof_hook_stack *stack);
// Adds to a bucket's cumulative counts; contentions in PROF_CONTENTION_ONE units.
void prof_contention_add_block(uint32_t bucket, uint64_t contentions, uint64_t delay_ns);
void prof_contention_add_mutex(uint32_t bucket, uint64_t contentions, uint64_t delay_ns);
void prof_contention_emit_buckets(void);  // the writer: new stacks, then changed counts
void prof_contention_table_lock(void);
void prof_contention_table_unlock(void);
void prof_contention_table_reset(void);  // a followed child starts from empty counts

#endif
