// The stream to prof. Only the writer thread or the final flush (which holds the
// drain lock) calls these, so the buffer needs no synchronisation of its own.
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static unsigned char buffer[256 * 1024];
static size_t used;
static bool broken;
static dev_t stream_device;  // the stream's file, to know it again
static ino_t stream_inode;

// A program may close descriptors it does not know of (daemons close them all)
// and open files that get the same number: the stream is written only while the
// descriptor is still the file it was at the start, never into the program's files.
static bool still_the_stream(void) {
  struct stat now;
  return fstat(prof_config.fd, &now) == 0 && now.st_dev == stream_device && now.st_ino == stream_inode;
}

// A write to a pipe prof no longer reads raises SIGPIPE, which would kill the
// target: the writing thread blocks it for the write and takes back the one the
// write raised (unless one was already pending for the program).
static ssize_t write_without_sigpipe(const void *bytes, size_t length) {
  sigset_t pipe_only, previous, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
  sigpending(&pending);
  bool already_pending = sigismember(&pending, SIGPIPE);
  ssize_t n = write(prof_config.fd, bytes, length);
  if (n < 0 && errno == EPIPE && !already_pending) {
    const struct timespec now = {0, 0};
    sigtimedwait(&pipe_only, NULL, &now);
    errno = EPIPE;
  }
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  return n;
}

bool prof_output_flush(void) {
  if (!broken && used > 0 && !still_the_stream()) broken = true;
  size_t written = 0;
  while (!broken && written < used) {
    ssize_t n = write_without_sigpipe(buffer + written, used - written);
    if (n > 0) {
      written += (size_t)n;
    } else if (n < 0 && errno != EINTR) {
      broken = true;  // prof went away: stop producing, never disturb the target
    }
  }
  used = 0;
  return !broken;
}

void prof_output_append(const void *bytes, size_t length) {
  if (length > sizeof buffer - used && !prof_output_flush()) return;
  memcpy(buffer + used, bytes, length);
  used += length;
}

void prof_output_begin(void) {
  used = 0;
  struct stat stream = {0};
  broken = fstat(prof_config.fd, &stream) != 0;
  stream_device = stream.st_dev;
  stream_inode = stream.st_ino;
}
