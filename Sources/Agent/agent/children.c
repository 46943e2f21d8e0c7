// --follow-children, in every mode: processes the target starts, forked or exec'd,
// keep the agent and write their streams into a directory prof reads at the end,
// one file per process image.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

bool prof_children_followed(void) { return prof_config.children_directory[0] != 0; }

// DIR/PID.stream. An image exec'd by a followed process goes on with that stream
// (exec.c); one that finds it already there (the earlier image's stream had ended:
// --duration was over, or its agent could not start) takes PID.N.stream.
int prof_children_open_stream(void) {
  if (!prof_children_followed()) return -1;
  char path[PATH_MAX];
  for (int image = 0; image < 100; image++) {
    if (image == 0) snprintf(path, sizeof path, "%s/%d.stream", prof_config.children_directory, (int)getpid());
    else snprintf(path, sizeof path, "%s/%d.%d.stream", prof_config.children_directory, (int)getpid(), image);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}
