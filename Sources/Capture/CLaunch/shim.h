// Linux calls that Swift's Glibc module does not expose.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static inline int prof_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
// SIGRTMIN and SIGRTMAX are function-like macros Swift cannot call.
static inline int prof_sigrtmin(void) { return SIGRTMIN; }
static inline int prof_sigrtmax(void) { return SIGRTMAX; }
// Whether two code addresses lie in one loaded module (dladdr is a GNU extension).
static inline int prof_same_module(const void *first, const void *second) {
  Dl_info a, b;
  return dladdr(first, &a) != 0 && dladdr(second, &b) != 0 && a.dli_fbase == b.dli_fbase;
}
