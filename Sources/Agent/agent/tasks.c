// The process's threads and their files under /proc, read with plain syscalls and
// no malloc: this also runs on the way out of _exit and from the writer.
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"

// Reads /proc/self/task/TID/LEAF with plain syscalls (this also runs on the way
// out of _exit) into text, NUL-terminated; returns its length, 0 if unreadable.
size_t prof_read_task_file(pid_t tid, const char *leaf, char *text, size_t size) {
  char path[64];
  char digits[PROF_DECIMAL_SIZE];
  prof_join(path, sizeof path, "/proc/self/task/", prof_decimal((uint64_t)tid, digits), "/", leaf, NULL);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, text, size - 1);
  close(fd);
  text[n > 0 ? n : 0] = 0;
  return n > 0 ? (size_t)n : 0;
}

void prof_read_comm(pid_t tid, char name[PROF_THREAD_NAME_LEN]) {
  memset(name, 0, PROF_THREAD_NAME_LEN);
  size_t n = prof_read_task_file(tid, "comm", name, PROF_THREAD_NAME_LEN);
  if (n > 0 && name[n - 1] == '\n') name[n - 1] = 0;
}

// Calls visit for every thread of the process, via getdents64 (no malloc).
void prof_for_each_task(void (*visit)(pid_t)) {
  int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  char buffer[4096];
  long n;
  while ((n = syscall(SYS_getdents64, fd, buffer, sizeof buffer)) > 0) {
    for (long offset = 0; offset < n;) {
      struct dirent64 *entry = (struct dirent64 *)(buffer + offset);
      offset += entry->d_reclen;
      pid_t tid = (pid_t)atoi(entry->d_name);
      if (tid > 0) visit(tid);
    }
  }
  close(fd);
}
