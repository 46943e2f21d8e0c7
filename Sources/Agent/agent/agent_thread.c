// The agent's own threads (the writer, wall mode's ticker, the control channel).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>

#include "agent.h"
#include "heap.h"

typedef void *(*thread_main)(void *);

struct agent_thread {
  thread_main main;
  const char *name;
};

// The thread names itself: naming another thread goes through /proc and
// sprintf, code a dormant program would otherwise never touch (its RSS).
static void *run_agent_thread(void *argument) {
  struct agent_thread thread = *(struct agent_thread *)argument;  // the creator's, until main stores the tid
  prof_heap_ignore_this_thread();  // its allocations are the agent's, not the program's
  prctl(PR_SET_NAME, thread.name);
  return thread.main(NULL);
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
  struct agent_thread start = {main, name};
  bool started = create && create(&thread, NULL, run_agent_thread, &start) == 0;
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  if (!started) return false;
  while (atomic_load(tid) == 0) sched_yield();  // the thread stores its own tid first
  return true;
}
