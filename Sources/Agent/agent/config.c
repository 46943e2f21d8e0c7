// The agent's configuration: the environment prof set (prof_env.h), read once at
// start; and the environment the program's own children see.
#define _GNU_SOURCE
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "prof_env.h"

struct prof_config prof_config = {.fd = -1, .hz = 100};

static unsigned long long env_number(const char *name, unsigned long long fallback) {
  const char *text = getenv(name);
  if (text == NULL || *text == 0) return fallback;
  char *end;
  unsigned long long value = strtoull(text, &end, 10);
  return *end == 0 ? value : fallback;
}

static bool env_is(const char *name, const char *value) {
  const char *text = getenv(name);
  return text && strcmp(text, value) == 0;
}

// prof's pipe; with --follow-children, an exec'd descendant's own file.
static int stream_fd(void) {
  if (getenv(PROF_ENV_AGENT_FD) == NULL) return prof_children_open_stream();
  return (int)env_number(PROF_ENV_AGENT_FD, (unsigned long long)-1);
}

// Heap mode's rate, before the configuration is read: see heap.c.
// A dormant agent with a rate (`prof run --heap`) tracks too, for the control
// channel's `heap` snapshots.
uint64_t prof_config_requested_heap_rate(void) { return env_number(PROF_ENV_HEAP_RATE, 0); }

extern const ElfW(Ehdr) __ehdr_start;  // this library's ELF header, from the linker: where it was loaded

// This library's file name, as LD_PRELOAD may list it; NULL if unknown. From the
// loader's list of modules rather than dladdr, whose code lies in a part of libc
// that a program rarely runs: a dormant agent would pay for those pages (RSS).
static const char *our_file_name(void) {
  for (const struct link_map *module = _r_debug.r_map; module != NULL; module = module->l_next) {
    if ((const void *)module->l_addr != (const void *)&__ehdr_start || module->l_name == NULL) continue;
    return strrchr(module->l_name, '/') ? strrchr(module->l_name, '/') + 1 : module->l_name;
  }
  return NULL;
}

// LD_PRELOAD's entries, separated by colons or spaces, one at a time: NULL after
// the last. Not strsep: a dormant agent stays out of code the program does not use.
static const char *next_preload_entry(const char **cursor, size_t *length) {
  while (**cursor == ':' || **cursor == ' ') (*cursor)++;
  if (**cursor == 0) return NULL;
  const char *entry = *cursor;
  while (**cursor && **cursor != ':' && **cursor != ' ') (*cursor)++;
  *length = (size_t)(*cursor - entry);
  return entry;
}

// Whether an entry names this library: its file name is ours, whatever the directory.
static bool is_our_entry(const char *entry, size_t length, const char *our_name) {
  size_t name_length = strlen(our_name);
  return length >= name_length && strncmp(entry + length - name_length, our_name, name_length) == 0 &&
         (length == name_length || entry[length - name_length - 1] == '/');
}

// Whether LD_PRELOAD names this library: prof itself links it (so that SwiftPM
// builds it beside prof), and prof must not open a control channel of its own.
static bool preloaded(void) {
  const char *preload = getenv("LD_PRELOAD");
  const char *our_name = our_file_name();
  if (preload == NULL || our_name == NULL) return false;
  size_t length;
  for (const char *entry; (entry = next_preload_entry(&preload, &length)) != NULL;)
    if (is_our_entry(entry, length, our_name)) return true;
  return false;
}

bool prof_config_is_dormant(void) {
  return getenv(PROF_ENV_AGENT_FD) == NULL && getenv(PROF_ENV_CHILDREN) == NULL && preloaded();
}

bool prof_config_read(void) {
  const char *children = getenv(PROF_ENV_CHILDREN);
  if (children && strlen(children) < sizeof prof_config.children_directory)
    strcpy(prof_config.children_directory, children);
  prof_config.heap_sample_rate = env_number(PROF_ENV_HEAP_RATE, 0);
  prof_config.block_rate_ns = env_number(PROF_ENV_BLOCK_RATE, 0);
  prof_config.mutex_fraction = env_number(PROF_ENV_MUTEX_FRACTION, 0);
  bool aggregating = prof_config_aggregates();
  prof_config.continuing = env_number(PROF_ENV_AGENT_CONTINUES, 0) == 1;
  prof_config.fd = stream_fd();
  if (prof_config.fd < 0) return false;
  prof_config.hz = (unsigned)env_number(PROF_ENV_HZ, aggregating ? 0 : 100);  // heap and contention mode: no CPU samples
  prof_config.duration_ns = env_number(PROF_ENV_DURATION_NS, 0);
  prof_config.clock = env_is(PROF_ENV_CLOCK, "wall") ? PROF_CLOCK_WALL : PROF_CLOCK_CPU;
  prof_config.tracing = env_number(PROF_ENV_TRACE, 0) == 1;
  prof_config.lock_wait_ns = prof_config.tracing ? env_number(PROF_ENV_LOCK_WAIT, 0) : 0;
  prof_config.signal = (int)env_number(PROF_ENV_SIGNAL, SIGPROF);
  prof_config.unwinder = env_is(PROF_ENV_UNWIND, "fp") ? PROF_UNWIND_FRAME_POINTERS : PROF_UNWIND_LIBUNWIND;
  prof_config.async_stacks = env_number(PROF_ENV_ASYNC_STACKS, 1) == 1;
  if ((prof_config.hz == 0 && !aggregating) || prof_config.hz > 10000) return false;
  if (prof_config.signal < 1 || prof_config.signal > SIGRTMAX || prof_config.signal == SIGKILL ||
      prof_config.signal == SIGSTOP)
    return false;
  return fcntl(prof_config.fd, F_SETFD, FD_CLOEXEC) == 0;
}

// Children the target spawns must not inherit the agent: drop our variables and
// our entry of LD_PRELOAD. Followed children keep them, but not this image's
// stream: theirs is a file of their own, with its own header.
void prof_config_scrub_environment(void) {
  static const char *variables[] = PROF_ENV_ALL;
  if (prof_children_followed()) {
    unsetenv(PROF_ENV_AGENT_FD);
    unsetenv(PROF_ENV_AGENT_CONTINUES);
    return;
  }
  for (size_t i = 0; i < sizeof variables / sizeof *variables; i++) unsetenv(variables[i]);
  const char *preload = getenv("LD_PRELOAD");
  const char *our_name = our_file_name();
  if (preload == NULL || our_name == NULL) return;
  char kept[4096] = "";
  size_t used = 0, length;
  for (const char *entry; (entry = next_preload_entry(&preload, &length)) != NULL;) {
    if (is_our_entry(entry, length, our_name)) continue;
    if (used + length + 2 > sizeof kept) break;  // what does not fit is dropped whole, never cut
    if (used > 0) kept[used++] = ':';
    memcpy(kept + used, entry, length);
    kept[used += length] = 0;
  }
  if (kept[0]) setenv("LD_PRELOAD", kept, 1);
  else unsetenv("LD_PRELOAD");
}
