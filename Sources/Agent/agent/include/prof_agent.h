// What the agent exports besides the libc functions it interposes: the entry
// points the ProfTrace library finds with dlsym when the program runs under prof.
#ifndef PROF_AGENT_H
#define PROF_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// True while `prof trace` records this process.
bool prof_trace_is_active(void);

// Records one event; kind is a prof_trace_kind from prof_stream.h.
void prof_trace_emit(uint32_t kind, const char *name, size_t name_len, int64_t value, uint64_t id);

#endif
