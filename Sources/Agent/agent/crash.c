// Fatal signals: the agent flushes what it holds before the program dies (it would
// otherwise lose up to one flush interval), then lets the signal take its course:
// the handler the program had before, or the default action.
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>

#include "agent.h"

// Not SIGTRAP: debuggers own it.
static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
#define FATAL_COUNT (sizeof fatal_signals / sizeof *fatal_signals)
static struct sigaction previous[FATAL_COUNT];

static void on_fatal_signal(int signal, siginfo_t *info, void *context) {
  (void)context;
  prof_flush_on_fatal_signal();
  for (size_t i = 0; i < FATAL_COUNT; i++)
    if (fatal_signals[i] == signal) sigaction(signal, &previous[i], NULL);
  // A fault recurs when the instruction runs again; a sent signal (kill, abort)
  // must be sent again. Either way it meets the restored action.
  if (info->si_code <= 0) raise(signal);
}

void prof_flush_on_fatal_signals(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_fatal_signal;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < FATAL_COUNT; i++) sigaction(fatal_signals[i], &action, &previous[i]);
}
