// The agent's own use of the dynamic loader's lock, kept out of fork.
//
// libunwind (the handler's and heap mode's stacks) and the module map call
// dl_iterate_phdr, which holds glibc's dl_load_write_lock. glibc's fork does not
// reset that lock: a thread of ours inside it when another thread forks leaves the
// child's copy locked for good, and the child hangs the next time anything asks the
// loader. So the fork prepare handler closes the gate (new walks use frame
// pointers, which need no loader; the writer waits) and waits, a bounded time, for
// the walks under way. If they do not finish in time the child is marked: it never
// asks the loader on the agent's behalf (its modules are its parent's, sent from the
// parent's cache). The program's own loader use racing fork stays glibc's hazard.
#define _GNU_SOURCE
#include <sched.h>

#include "agent.h"

#define QUIESCE_LIMIT_NS 10000000u  // the program's fork waits at most this long for us

static _Atomic bool fork_under_way;
static _Atomic int walks_in_loader;
static bool quiesced_at_fork;   // set by the forking thread, read by its child
static _Atomic bool loader_unsafe;  // this process is a child forked while a walk was under way

bool prof_loader_enter(void) {
  if (atomic_load(&loader_unsafe)) return false;
  atomic_fetch_add(&walks_in_loader, 1);
  if (atomic_load(&fork_under_way)) {  // seq_cst both sides: the forker sees the count or we see its flag
    atomic_fetch_sub(&walks_in_loader, 1);
    return false;
  }
  return true;
}

bool prof_loader_enter_waiting(void) {
  while (!prof_loader_enter()) {
    if (atomic_load(&loader_unsafe)) return false;
    sched_yield();  // a fork is under way; it ends in microseconds
  }
  return true;
}

void prof_loader_leave(void) { atomic_fetch_sub(&walks_in_loader, 1); }

void prof_loader_fork_prepare(void) {
  atomic_store(&fork_under_way, true);
  uint64_t deadline = prof_now_ns(CLOCK_MONOTONIC) + QUIESCE_LIMIT_NS;
  while (atomic_load(&walks_in_loader) != 0 && prof_now_ns(CLOCK_MONOTONIC) < deadline) sched_yield();
  quiesced_at_fork = atomic_load(&walks_in_loader) == 0;
}

void prof_loader_fork_parent(void) { atomic_store(&fork_under_way, false); }

void prof_loader_fork_child(void) {
  atomic_store(&walks_in_loader, 0);  // their threads are not in the child
  if (!quiesced_at_fork) atomic_store(&loader_unsafe, true);
  atomic_store(&fork_under_way, false);
}
