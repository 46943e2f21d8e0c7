// Linux calls that Swift's Glibc module does not expose.
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static inline int prof_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
// SIGRTMIN and SIGRTMAX are function-like macros Swift cannot call.
static inline int prof_sigrtmin(void) { return SIGRTMIN; }
static inline int prof_sigrtmax(void) { return SIGRTMAX; }
