// The exec family, interposed so that what the agent buffered reaches prof before
// the process image is replaced. glibc's exec functions call each other internally,
// past any interposer, so every entry point is wrapped. A failed exec returns here
// and the agent carries on.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <unistd.h>

#include "agent.h"

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

PROF_INTERPOSE int execve(const char *path, char *const argv[], char *const envp[]) {
  prof_flush_before_exec();
  return REAL(execve)(path, argv, envp);
}

PROF_INTERPOSE int execv(const char *path, char *const argv[]) {
  prof_flush_before_exec();
  return REAL(execv)(path, argv);
}

PROF_INTERPOSE int execvp(const char *file, char *const argv[]) {
  prof_flush_before_exec();
  return REAL(execvp)(file, argv);
}

PROF_INTERPOSE int execvpe(const char *file, char *const argv[], char *const envp[]) {
  prof_flush_before_exec();
  return REAL(execvpe)(file, argv, envp);
}

PROF_INTERPOSE int fexecve(int fd, char *const argv[], char *const envp[]) {
  prof_flush_before_exec();
  return REAL(fexecve)(fd, argv, envp);
}

PROF_INTERPOSE int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) {
  prof_flush_before_exec();
  return REAL(execveat)(dirfd, path, argv, envp, flags);
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
