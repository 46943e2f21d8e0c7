// The exec family, interposed so that what the agent buffered reaches prof before
// the process image is replaced. glibc's exec functions call each other internally,
// past any interposer, so every entry point is wrapped. A failed exec returns here
// and the agent carries on.
//
// An exec keeps the process: a shell wrapper or a shim that execs the real program
// is the run the user asked to profile. In every mode the agent puts itself back
// into the new image's environment and keeps the stream open across the exec;
// the new image's agent goes on with it (PROF_AGENT_CONTINUES: no header, a new
// START). A forked child hands over a stream only when it has its own
// (--follow-children); otherwise its agent is dormant.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "prof_env.h"

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

extern char **environ;

#define OURS_MAX 16
static char ours_storage[8192];
static char *ours[OURS_MAX];  // "NAME=value" as prof set them
static size_t ours_count;
static char duration[64];
static char stream_fd[32];

// Before the lifecycle (constructor 102) scrubs them from the program's environment.
__attribute__((constructor(101))) static void remember_environment(void) {
  static const char *names[] = {"LD_PRELOAD",     PROF_ENV_HZ,     PROF_ENV_UNWIND,  PROF_ENV_CLOCK,
                                PROF_ENV_TRACE, PROF_ENV_SIGNAL, PROF_ENV_CHILDREN, PROF_ENV_ASYNC_STACKS,
                                PROF_ENV_LOCK_WAIT, PROF_ENV_HEAP_RATE, PROF_ENV_BLOCK_RATE,
                                PROF_ENV_MUTEX_FRACTION, PROF_ENV_UNWIND_CHECK};
  size_t used = 0;
  for (size_t i = 0; i < sizeof names / sizeof *names && ours_count < OURS_MAX; i++) {
    const char *value = getenv(names[i]);
    if (value == NULL) continue;
    size_t length = prof_join(ours_storage + used, sizeof ours_storage - used, names[i], "=", value, NULL);
    if (length >= sizeof ours_storage - used) break;
    ours[ours_count++] = ours_storage + used;
    used += length + 1;
  }
}

static bool is_ours(const char *entry) {
  return strncmp(entry, "PROF_", 5) == 0 || strncmp(entry, "LD_PRELOAD=", 11) == 0;
}

static size_t count(char *const *environment) {
  size_t n = 0;
  while (environment && environment[n]) n++;
  return n;
}

// The environment for the next image: the caller's without our variables, then
// ours, and the stream: prof's pipe, or a followed child's own file, whose number
// differs. `out` holds count(environment) + OURS_MAX + 4 entries.
static char *const *continued(char *const *environment, int stream, char **out) {
  size_t n = 0;
  for (size_t i = 0; environment && environment[i]; i++)
    if (!is_ours(environment[i])) out[n++] = environment[i];
  for (size_t i = 0; i < ours_count; i++) out[n++] = ours[i];
  char digits[PROF_DECIMAL_SIZE];
  prof_join(stream_fd, sizeof stream_fd, PROF_ENV_AGENT_FD "=", prof_decimal((uint64_t)stream, digits), NULL);
  out[n++] = stream_fd;
  out[n++] = PROF_ENV_AGENT_CONTINUES "=1";
  uint64_t remaining = prof_remaining_duration_ns();
  if (remaining) {
    prof_join(duration, sizeof duration, PROF_ENV_DURATION_NS "=", prof_decimal(remaining, digits), NULL);
    out[n++] = duration;
  }
  out[n] = NULL;
  return out;
}

// Declares `env`: the environment to exec with, and `stream`, the fd handed over.
#define PREPARE(environment)                                                      \
  int stream = prof_flush_before_exec();                                          \
  char *storage[count(environment) + OURS_MAX + 4];                               \
  char *const *env = environment;                                                 \
  if (stream >= 0) {                                                              \
    env = continued(environment, stream, storage);                                \
    fcntl(stream, F_SETFD, 0);                                                    \
  }

// Only reached when the exec failed: this image keeps the stream.
static int failed(int stream, int result) {
  if (stream >= 0) {
    fcntl(stream, F_SETFD, FD_CLOEXEC);
    prof_exec_failed();
  }
  return result;
}

PROF_INTERPOSE int execve(const char *path, char *const argv[], char *const envp[]) {
  PREPARE(envp);
  return failed(stream, REAL(execve)(path, argv, env));
}

PROF_INTERPOSE int execv(const char *path, char *const argv[]) {
  PREPARE(environ);
  return failed(stream, REAL(execve)(path, argv, env));
}

PROF_INTERPOSE int execvp(const char *file, char *const argv[]) {
  PREPARE(environ);
  return failed(stream, REAL(execvpe)(file, argv, env));
}

PROF_INTERPOSE int execvpe(const char *file, char *const argv[], char *const envp[]) {
  PREPARE(envp);
  return failed(stream, REAL(execvpe)(file, argv, env));
}

PROF_INTERPOSE int fexecve(int fd, char *const argv[], char *const envp[]) {
  PREPARE(envp);
  return failed(stream, REAL(fexecve)(fd, argv, env));
}

PROF_INTERPOSE int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) {
  PREPARE(envp);
  return failed(stream, REAL(execveat)(dirfd, path, argv, env, flags));
}

// The execl variants take argv as variadic arguments ending with NULL (execle's envp
// follows it): one pass counts them, a second copies them into an array on the stack.
static size_t count_arguments(const char *first, va_list arguments) {
  size_t count = 1;
  if (first != NULL)
    while (va_arg(arguments, const char *) != NULL) count++;
  return count;
}

// Returns the envp after the terminating NULL when execle asks for it.
static char *const *fill_arguments(char **argv, size_t count, const char *first, va_list arguments,
                                   bool envp_follows) {
  argv[0] = (char *)first;
  for (size_t i = 1; i < count; i++) argv[i] = va_arg(arguments, char *);
  argv[count] = NULL;
  if (!envp_follows) return NULL;
  if (first != NULL) (void)va_arg(arguments, char *);
  return va_arg(arguments, char *const *);
}

#define EXECL(forward, target, first, with_envp)                                         \
  va_list arguments;                                                                     \
  va_start(arguments, first);                                                            \
  size_t count = count_arguments(first, arguments);                                      \
  va_end(arguments);                                                                     \
  char *argv[count + 1];                                                                 \
  va_start(arguments, first);                                                            \
  char *const *envp = fill_arguments(argv, count, first, arguments, with_envp);          \
  va_end(arguments);                                                                     \
  return with_envp ? execve(target, argv, envp) : forward(target, argv)

PROF_INTERPOSE int execl(const char *path, const char *arg, ...) { EXECL(execv, path, arg, false); }

PROF_INTERPOSE int execlp(const char *file, const char *arg, ...) { EXECL(execvp, file, arg, false); }

PROF_INTERPOSE int execle(const char *path, const char *arg, ...) { EXECL(execv, path, arg, true); }
