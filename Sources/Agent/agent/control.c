// The dormant agent's control channel (STREAM.md, "Control channel"). Loaded
// without prof's stream (a plain LD_PRELOAD, `prof run`), the agent records
// nothing: one thread, blocked on a Unix socket, waits for a client (prof) to ask
// for a window. The reply is the ordinary stream on the same socket; the window
// ends when the client says `stop` or goes away, and then timers and handler are
// undone.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"

#define FLUSH_INTERVAL_MS 50
#define REQUEST_TIMEOUT_S 5  // a client that connects and says nothing (200 ms while a window runs)
#define DUMP_WAIT_NS 1000000000u  // threads that do not answer the dump's signal in time are left out

_Atomic pid_t prof_control_tid;

static int listener = -1;
static pid_t listener_owner;  // only this process unlinks the socket
static struct sockaddr_un address;

// --- the socket --------------------------------------------------------------

// /tmp/prof-<uid>, ours and 0700; anything else (another user's, a symlink, a
// file, looser modes) means no channel.
static bool private_directory(char *path, size_t size) {
  char uid[PROF_DECIMAL_SIZE];
  prof_join(path, size, "/tmp/prof-", prof_decimal(geteuid(), uid), NULL);
  if (mkdir(path, 0700) != 0 && errno != EEXIST) return false;
  struct stat info;
  return lstat(path, &info) == 0 && S_ISDIR(info.st_mode) && info.st_uid == geteuid() &&
         (info.st_mode & 0777) == 0700;
}

// A program started with stdin, stdout or stderr closed must find those numbers
// free for its own files, not taken by the agent's sockets.
static int above_standard_streams(int fd) {
  if (fd < 0 || fd > 2) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  close(fd);
  return moved;
}

static bool open_listener(void) {
  char directory[64];
  if (!private_directory(directory, sizeof directory)) return false;
  address.sun_family = AF_UNIX;
  char pid[PROF_DECIMAL_SIZE];
  prof_join(address.sun_path, sizeof address.sun_path, directory, "/", prof_decimal((uint64_t)getpid(), pid), ".sock", NULL);
  listener = above_standard_streams(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (listener < 0) return false;
  unlink(address.sun_path);  // a stale socket of an earlier process with our pid
  if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || chmod(address.sun_path, 0600) != 0 ||
      listen(listener, 4) != 0) {
    close(listener);
    listener = -1;
    return false;
  }
  listener_owner = getpid();
  return true;
}

static bool peer_allowed(int client) {
  struct ucred peer;
  socklen_t length = sizeof peer;
  if (getsockopt(client, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) return false;
  return peer.uid == geteuid() || peer.uid == 0;
}

static void reply_error(int client, const char *reason) {
  char line[160];
  int length = snprintf(line, sizeof line, "error: %s\n", reason);
  (void)send(client, line, (size_t)length, MSG_NOSIGNAL);
}

// One line, up to its newline; false: none came in time, or it is too long.
static bool read_line(int client, char *line, size_t size, struct timeval timeout) {
  setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  size_t used = 0;
  while (used < size - 1) {
    ssize_t n = recv(client, line + used, 1, 0);
    if (n <= 0) return false;
    if (line[used] == '\n') {
      line[used] = 0;
      return true;
    }
    used++;
  }
  return false;
}

// --- requests ----------------------------------------------------------------

struct request {
  enum { REQUEST_CPU, REQUEST_TRACE, REQUEST_HEAP, REQUEST_THREADS, REQUEST_BLOCK, REQUEST_MUTEX } kind;
  unsigned hz;
  enum prof_unwinder unwinder;
  bool async_stacks;
};

// `cpu|trace|heap|threads|block|mutex [hz=N] [unwind=fp|libunwind|hybrid] [async=on|off]`; NULL on success, else the reason.
static const char *parse_request(char *line, struct request *request) {
  *request = (struct request){REQUEST_CPU, 100, PROF_UNWIND_LIBUNWIND, true};
  char *cursor = line;
  char *word = strsep(&cursor, " ");
  if (strcmp(word, "cpu") == 0) request->kind = REQUEST_CPU;
  else if (strcmp(word, "trace") == 0) request->kind = REQUEST_TRACE;
  else if (strcmp(word, "heap") == 0) request->kind = REQUEST_HEAP;
  else if (strcmp(word, "threads") == 0) request->kind = REQUEST_THREADS;
  else if (strcmp(word, "block") == 0) request->kind = REQUEST_BLOCK;
  else if (strcmp(word, "mutex") == 0) request->kind = REQUEST_MUTEX;
  else return "unknown request (cpu, trace, heap, threads, block, mutex)";
  while ((word = strsep(&cursor, " ")) != NULL) {
    if (*word == 0) continue;
    char *end;
    if (strncmp(word, "hz=", 3) == 0) {
      unsigned long hz = strtoul(word + 3, &end, 10);
      if (*end != 0 || hz == 0 || hz > 10000) return "hz must be 1..10000";
      request->hz = (unsigned)hz;
    } else if (strcmp(word, "unwind=fp") == 0) {
      request->unwinder = PROF_UNWIND_FRAME_POINTERS;
    } else if (strcmp(word, "unwind=libunwind") == 0) {
      request->unwinder = PROF_UNWIND_LIBUNWIND;
    } else if (strcmp(word, "unwind=hybrid") == 0) {
      request->unwinder = PROF_UNWIND_HYBRID;
    } else if (strcmp(word, "async=on") == 0 || strcmp(word, "async=off") == 0) {
      request->async_stacks = word[7] == 'n';
    } else {
      return "unknown setting (hz=N, unwind=fp|libunwind|hybrid, async=on|off)";
    }
  }
  return NULL;
}

// While a window runs: another client is told the channel is busy.
static void refuse_waiting_client(void) {
  int other = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
  if (other < 0) return;
  // Its request is read first: a socket closed with unread data resets the peer,
  // which might then never read the reply.
  char line[256];
  if (peer_allowed(other) && read_line(other, line, sizeof line, (struct timeval){0, 200000}))
    reply_error(other, "busy: another session is attached to this process");
  close(other);
}

// Flushes every 50 ms until the client says `stop`, closes, or the program's exit
// ends the stream.
static void run_window(int client) {
  struct pollfd watched[2] = {{client, POLLIN, 0}, {listener, POLLIN, 0}};
  for (;;) {
    int ready = poll(watched, 2, FLUSH_INTERVAL_MS);
    if (ready > 0 && watched[1].revents) refuse_waiting_client();
    if (ready > 0 && watched[0].revents) {
      char text[64];
      ssize_t n = recv(client, text, sizeof text, MSG_DONTWAIT);
      if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) return;  // gone
      if (n > 0 && memmem(text, (size_t)n, "stop", 4)) return;
    }
    prof_window_flush();
  }
}

static void count_task(pid_t tid) {
  if (!prof_is_agent_thread(tid)) atomic_fetch_add(&prof_counters.threads, 1);
}

static void interrupt_task(pid_t tid) {
  if (prof_is_agent_thread(tid)) return;
  prof_emit_task_name(tid);
  prof_interrupt_thread(tid);
}

static void report_if_blocked(pid_t tid) {
  if (!prof_is_agent_thread(tid)) prof_signal_report_if_blocked(tid);
}

// Every thread's stack, once: the sampling signal, tagged as wall mode's ticker
// tags it, to each thread; a thread that blocks it is named in a NOTICE instead.
static void dump_threads(void) {
  prof_for_each_task(count_task);
  if (!prof_signal_install()) return;
  atomic_store(&prof_sampling, true);
  prof_for_each_task(interrupt_task);
  uint64_t deadline = prof_now_ns(CLOCK_MONOTONIC) + DUMP_WAIT_NS;
  const struct timespec pause = {0, 1000000};
  while (atomic_load(&prof_counters.taken) < atomic_load(&prof_counters.threads) &&
         prof_now_ns(CLOCK_MONOTONIC) < deadline)
    nanosleep(&pause, NULL);
  atomic_store(&prof_sampling, false);
  prof_for_each_task(report_if_blocked);
  prof_signal_uninstall();
}

static void serve(int client) {
  char line[256];
  struct request request;
  if (!read_line(client, line, sizeof line, (struct timeval){REQUEST_TIMEOUT_S, 0})) return reply_error(client, "expected one request line");
  const char *problem = parse_request(line, &request);
  if (problem) return reply_error(client, problem);
  bool heap = request.kind == REQUEST_HEAP;
  if (heap && prof_config.heap_sample_rate == 0)
    return reply_error(client, "heap tracking is off: start the program with `prof run --heap`");
  if (request.kind == REQUEST_BLOCK && prof_config.block_rate_ns == 0)
    return reply_error(client, "block profiling is off: start the program with `prof run --block`");
  if (request.kind == REQUEST_MUTEX && prof_config.mutex_fraction == 0)
    return reply_error(client, "mutex profiling is off: start the program with `prof run --mutex`");
  // heap, block, mutex: a snapshot of what the agent has counted since the start
  bool snapshot = heap || request.kind == REQUEST_BLOCK || request.kind == REQUEST_MUTEX;
  prof_config.fd = client;
  prof_config.hz = snapshot ? 0 : request.kind == REQUEST_THREADS ? 1 : request.hz;
  prof_config.unwinder = request.unwinder;
  prof_config.async_stacks = request.async_stacks;
  if (request.async_stacks && !prof_async_possible() && prof_loader_enter_waiting()) {
    prof_async_init();  // before the first sample: the module records come with the first flush
    prof_loader_leave();
  }
  prof_config.clock = request.kind == REQUEST_THREADS ? PROF_CLOCK_WALL : PROF_CLOCK_CPU;
  prof_config.tracing = request.kind == REQUEST_TRACE;
  prof_config.signal = SIGPROF;
  prof_config.duration_ns = 0;
  prof_config.continuing = false;
  bool threads = request.kind == REQUEST_THREADS;
  if (prof_window_begin(!threads)) {
    if (threads) dump_threads();
    else if (!snapshot) run_window(client);
  }  // a snapshot: the counts so far, in the window's one flush at its end
  prof_window_end();
  prof_config.fd = -1;  // closed below: a forked child must not close a number the program reuses
}

static void *control_main(void *unused) {
  (void)unused;
  atomic_store(&prof_control_tid, (pid_t)syscall(SYS_gettid));
  for (;;) {
    int client = above_standard_streams(accept4(listener, NULL, NULL, SOCK_CLOEXEC));
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return NULL;
    }
    if (peer_allowed(client)) serve(client);
    close(client);
  }
}

static void remove_socket(void) {
  if (listener >= 0 && getpid() == listener_owner) unlink(address.sun_path);
}

// The child of a fork has no control thread: it neither keeps the parent's
// listening socket nor removes its file (the lifecycle's fork handler closes a
// window's socket and stops recording).
static void forget_in_child(void) {
  close(listener);
  listener = -1;
}

void prof_control_start(void) {
  if (!open_listener()) return;
  atexit(remove_socket);
  pthread_atfork(NULL, NULL, forget_in_child);
  if (!prof_start_agent_thread(control_main, "prof-control", &prof_control_tid)) {
    remove_socket();
    close(listener);
    listener = -1;
  }
}
