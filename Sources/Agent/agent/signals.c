// The sampling signal (SIGPROF unless --signal chose another) and programs that
// want it too, in thread context (the handlers are in signal_context.c). The
// agent's handler stays installed: a program that installs its own is told it
// succeeded, its action is remembered and gets the signals our timers did not
// send, and prof is told so the user can pick another signal. Threads that block
// the signal are never sampled: they are reported with the CPU time they used,
// from which prof says how many samples are missing.
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"

static _Atomic bool installed;
static _Atomic bool replacement_reported;

static bool is_function(const struct sigaction *action) {
  return action->sa_handler != SIG_DFL && action->sa_handler != SIG_IGN;
}

void prof_emit_notice(enum prof_notice_code code, pid_t tid, uint64_t value) {
  uint64_t ticket;
  struct prof_notice_record *notice = prof_ring_reserve(&ticket);  // may run in a handler
  if (notice == NULL) return;
  memset(notice, 0, sizeof *notice);
  notice->header = (struct prof_record_header){PROF_REC_NOTICE, sizeof *notice};
  notice->code = code;
  notice->tid = (uint32_t)tid;
  notice->values[0] = (uint64_t)prof_config.signal;
  notice->values[1] = value;
  if (tid) prof_read_comm(tid, notice->name);
  prof_ring_publish(ticket);
}

static void remember_program_action(const struct sigaction *action) {
  prof_program_action_set(action);
  if (is_function(action) && !atomic_exchange(&replacement_reported, true))
    prof_emit_notice(PROF_NOTICE_HANDLER_REPLACED, 0, 0);
}

bool prof_signal_install(void) {
  struct sigaction before;
  if (!prof_sampling_handler_install(&before)) return false;
  atomic_store(&replacement_reported, false);  // once per window: each --pid window is a stream of its own
  remember_program_action(&before);  // a library's constructor may have been first
  atomic_store(&installed, true);
  return true;
}

// A signal of ours still pending when the program's action is back could kill it
// (SIGPROF's default ends the process): the handler stays until none is, for up to
// a second; a thread that blocks the signal may keep one pending for ever, and then
// the handler stays for good, passing the program's own signals on as it does now.
static bool ours_pending(void) {
  bool pending = false;
  char status[4096];
  const char *fields[] = {"SigPnd:", "ShdPnd:"};
  DIR *tasks = opendir("/proc/self/task");
  if (tasks == NULL) return false;
  for (struct dirent *entry; !pending && (entry = readdir(tasks)) != NULL;) {
    pid_t tid = (pid_t)atoi(entry->d_name);
    if (tid <= 0 || prof_read_task_file(tid, "status", status, sizeof status) == 0) continue;
    for (int i = 0; i < 2; i++) {
      const char *field = strstr(status, fields[i]);
      if (field && (strtoull(field + 7, NULL, 16) >> (prof_config.signal - 1)) & 1) pending = true;
    }
  }
  closedir(tasks);
  return pending;
}

void prof_signal_uninstall(void) {
  if (!atomic_load(&installed)) return;
  const struct timespec pause = {0, 10000000};
  for (int attempt = 0; ours_pending(); attempt++) {
    if (attempt == 100) return;
    nanosleep(&pause, NULL);
  }
  atomic_store(&installed, false);
  prof_real_sigaction(prof_config.signal, prof_program_action(), NULL);
}

PROF_INTERPOSE int sigaction(int signal, const struct sigaction *action, struct sigaction *old) {
  if (!atomic_load(&installed) || signal != prof_config.signal) return prof_real_sigaction(signal, action, old);
  if (old) *old = *prof_program_action();
  if (action) remember_program_action(action);
  return 0;
}

// glibc's signal() does not go through sigaction's symbol: it needs its own hook.
PROF_INTERPOSE sighandler_t signal(int number, sighandler_t handler) {
  struct sigaction action, old;
  memset(&action, 0, sizeof action);
  action.sa_handler = handler;
  action.sa_flags = SA_RESTART;  // BSD semantics, as glibc's signal()
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, number);
  return sigaction(number, &action, &old) == 0 ? old.sa_handler : SIG_ERR;
}

// Reads the thread's blocked mask from /proc ("SigBlk:\t<hex>").
static bool blocks_our_signal(pid_t tid) {
  char status[4096];
  if (prof_read_task_file(tid, "status", status, sizeof status) == 0) return false;
  const char *field = strstr(status, "SigBlk:");
  if (field == NULL) return false;
  unsigned long long mask = strtoull(field + 7, NULL, 16);
  return (mask >> (prof_config.signal - 1)) & 1;
}

void prof_signal_report_if_blocked(pid_t tid) {
  if (!blocks_our_signal(tid)) return;
  struct timespec cpu;
  uint64_t cpu_ns = clock_gettime(prof_thread_cpu_clock(tid), &cpu) == 0 ? (uint64_t)cpu.tv_sec * 1000000000u + (uint64_t)cpu.tv_nsec : 0;
  prof_emit_notice(PROF_NOTICE_SIGNAL_BLOCKED, tid, cpu_ns);
}
