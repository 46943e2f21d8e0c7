// The agent's own threads (the writer, wall mode's ticker).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include "agent.h"
#include "heap.h"

typedef void *(*thread_main)(void *);

static void *run_agent_thread(void *main) {
  prof_heap_ignore_this_thread();  // its allocations are the agent's, not the program's
  return ((thread_main)main)(NULL);  // POSIX lets function pointers pass as void *, as dlsym does
}

// The agent's threads run with every signal blocked: the handler never interrupts
// the writer while it holds the drain lock. They are created with the real
// pthread_create, and started before sampling so that the sampler can skip them.
bool prof_start_agent_thread(thread_main main, const char *name, _Atomic pid_t *tid) {
  int (*create)(pthread_t *, const pthread_attr_t *, thread_main, void *) = dlsym(RTLD_NEXT, "pthread_create");
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  pthread_t thread;
  bool started = create && create(&thread, NULL, run_agent_thread, (void *)main) == 0;
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  if (!started) return false;
  pthread_setname_np(thread, name);
  while (atomic_load(tid) == 0) sched_yield();  // the thread stores its own tid first
  return true;
}
