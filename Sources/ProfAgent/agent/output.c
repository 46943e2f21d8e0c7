// The stream to prof. Only the writer thread or the final flush (which holds the
// drain lock) calls these, so the buffer needs no synchronisation of its own.
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

static unsigned char buffer[256 * 1024];
static size_t used;
static bool broken;

bool prof_output_flush(void) {
  size_t written = 0;
  while (!broken && written < used) {
    ssize_t n = write(prof_config.fd, buffer + written, used - written);
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

bool prof_output_broken(void) { return broken; }

void prof_output_restart(void) {
  used = 0;
  broken = false;
}
