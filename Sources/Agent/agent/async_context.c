// Swift async call stacks. After an await, an async function runs as a "partial
// function" called by the executor; its awaiting callers are not on the machine
// stack but in the task's chain of async contexts: word 0 of a context is its
// parent's context, word 1 the parent's resume function. The context is in r14
// (the swiftasync register) in the partial function, and, in frames with the async
// frame layout, in the word below the frame pointer. The handler cannot tell which
// frame is async (that needs symbols), so it records every plausible candidate
// with the chain it leads to, and prof keeps the one at an async frame.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "agent.h"

#define MAX_CHAIN_DEPTH 48  // contexts followed from one candidate

// process_vm_readv reports a bad address as an error instead of a fault: contexts
// are freed by other threads while we read. Off for good if the kernel refuses it.
static _Atomic bool reads_refused;

static bool read_words(pid_t pid, uint64_t address, uint64_t words[2]) {
  struct iovec local = {words, 16};
  struct iovec remote = {(void *)(uintptr_t)address, 16};
  ssize_t n = syscall(SYS_process_vm_readv, pid, &local, 1UL, &remote, 1UL, 0UL);
  if (n == 16) return true;
  if (n < 0 && errno != EFAULT) atomic_store_explicit(&reads_refused, true, memory_order_relaxed);
  return false;
}

// Task-allocated contexts: heap memory, 16-byte aligned, never on this stack.
static bool plausible_context(const struct prof_async_capture *capture, uint64_t value) {
  if (value < 0x10000 || value >= 0x800000000000ULL || (value & 15) != 0) return false;
  return value < capture->stack_low || value >= capture->stack_high;
}

// A resume function is in a module's executable segment (the code map the writer keeps).
static bool plausible_code(uint64_t value) { return value >= 0x1000 && prof_code_map_is_code(value); }

static void append(struct prof_async_capture *capture, uint32_t frame, uint32_t kind, uint64_t value) {
  capture->entries[capture->count++] = (struct prof_async_entry){frame, kind, value};
}

// The candidate; a TASK candidate goes on with the function its job resumed.
static void append_candidate(struct prof_async_capture *capture, uint32_t frame, enum prof_async_kind kind,
                             uint64_t value, uint64_t resumed) {
  append(capture, frame, kind, value);
  if (kind == PROF_ASYNC_TASK) append(capture, frame, PROF_ASYNC_RESUMED, resumed);
}

// Records the candidate and the chain of resume functions it leads to, once per value.
static void follow(struct prof_async_capture *capture, uint32_t frame, enum prof_async_kind kind, uint64_t value,
                   uint64_t resumed) {
  if (capture->tries == PROF_ASYNC_MAX_TRIES || capture->count + 4 > PROF_ASYNC_MAX_ENTRIES) return;
  if (kind == PROF_ASYNC_REGISTER && value == capture->last_register) return;  // the same run of r14
  if (kind == PROF_ASYNC_REGISTER) capture->last_register = value;
  if (!plausible_context(capture, value) || atomic_load_explicit(&reads_refused, memory_order_relaxed)) return;
  for (uint32_t i = 0; i < capture->tries; i++) {
    if (capture->tried[i].value != value) continue;
    // prof reuses the chain the value led to
    if (capture->tried[i].led_somewhere) append_candidate(capture, frame, kind, value, resumed);
    return;
  }
  if (capture->pid == 0) capture->pid = (pid_t)syscall(SYS_getpid);
  uint32_t try = capture->tries++;
  capture->tried[try].value = value;
  uint64_t words[2];
  if (!read_words(capture->pid, value, words) || !plausible_code(words[1])) return;
  capture->tried[try].led_somewhere = true;
  append_candidate(capture, frame, kind, value, resumed);
  for (uint32_t depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
    append(capture, frame, PROF_ASYNC_RESUME, words[1]);
    if (words[0] == 0) {
      append(capture, frame, PROF_ASYNC_END, 0);
      return;
    }
    if (capture->count + 2 > PROF_ASYNC_MAX_ENTRIES || !plausible_context(capture, words[0])) return;
    if (!read_words(capture->pid, words[0], words) || !plausible_code(words[1])) return;
  }
}

// Where libswift_Concurrency's code is: an async partial function is called by
// the executor (swift::runJobInEstablishedExecutorContext), so only the frame
// just above the first executor frame needs its context read. Zero: not loaded
// (no Swift concurrency, or a static stdlib): nothing is read.
static _Atomic uintptr_t executor_start, executor_limit;

void prof_async_note_module(const char *path, size_t path_len, uintptr_t start, uintptr_t limit) {
  static const char name[] = "/libswift_Concurrency.so";
  size_t name_len = sizeof name - 1;
  if (path_len < name_len || memcmp(path + path_len - name_len, name, name_len) != 0) return;
  atomic_store_explicit(&executor_limit, limit, memory_order_relaxed);
  atomic_store_explicit(&executor_start, start, memory_order_release);
}

bool prof_async_possible(void) { return atomic_load_explicit(&executor_start, memory_order_relaxed) != 0; }

static bool is_executor(uintptr_t start, uintptr_t limit, uint64_t pc) { return pc >= start && pc < limit; }

bool prof_async_is_executor(uint64_t pc) {
  uintptr_t start = atomic_load_explicit(&executor_start, memory_order_acquire);
  return start != 0 && is_executor(start, atomic_load_explicit(&executor_limit, memory_order_relaxed), pc);
}

void prof_async_candidate(struct prof_async_capture *capture, uint32_t frame, enum prof_async_kind kind,
                          uint64_t value) {
  if (frame >= PROF_MAX_FRAMES) return;
  if (kind == PROF_ASYNC_REGISTER) capture->registers[frame] = value;
  else capture->slots[frame] = value;
  capture->known[frame] |= (uint8_t)(1u << kind);
}

// The running task (swift_task_getCurrent reads a thread-local the executor sets
// around a job) and, in it, the function and context its job resumed (AsyncTask's
// ResumeTask and ResumeContext: after HeapObject 16 bytes, Job's SchedulerPrivate
// 16, Flags and Id 8, Voucher 8, Reserved 8; Swift 5.9 to 6.3 on 64-bit). A
// partial function that spills r14 and reuses it (one that calls much) still has
// its callers there: the resumed function is it, or a callee that returned to it
// without suspending, whose chain it is on. prof matches the frame's function
// against that function and chain, so a layout that differs only finds nothing.
#define TASK_RESUME_OFFSET 56
static void *(*current_task)(void);

static void follow_current_task(struct prof_async_capture *capture, uint32_t frame) {
  if (current_task == NULL) return;
  uint64_t task = (uint64_t)(uintptr_t)current_task();
  uint64_t resume[2];  // ResumeTask, ResumeContext
  if (!plausible_context(capture, task) || atomic_load_explicit(&reads_refused, memory_order_relaxed)) return;
  if (capture->pid == 0) capture->pid = (pid_t)syscall(SYS_getpid);
  if (!read_words(capture->pid, task + TASK_RESUME_OFFSET, resume) || !plausible_code(resume[0])) return;
  follow(capture, frame, PROF_ASYNC_TASK, resume[1], resume[0]);
}

static int note_loaded_module(struct dl_phdr_info *info, size_t size, void *context) {
  (void)size;
  (void)context;
  if (info->dlpi_name == NULL) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    uintptr_t start, end;
    if (prof_code_segment(info, i, &start, &end))
      prof_async_note_module(info->dlpi_name, strlen(info->dlpi_name), start, end);
  }
  return 0;
}

// At start, so that the first samples have it too; a later dlopen is noted with
// the module records.
void prof_async_init(void) {
  dl_iterate_phdr(note_loaded_module, NULL);
  if (prof_async_possible()) current_task = (void *(*)(void))dlsym(RTLD_DEFAULT, "swift_task_getCurrent");
}

void prof_async_finish(struct prof_async_capture *capture, const uint64_t *frames, uint32_t depth) {
  uintptr_t start = atomic_load_explicit(&executor_start, memory_order_acquire);
  uintptr_t limit = atomic_load_explicit(&executor_limit, memory_order_relaxed);
  if (start == 0) return;  // Swift concurrency is not loaded: no frame is async
  uint64_t r14 = 0;
  bool have_r14 = false;  // fp knows r14 at frame 0 only; callee-saved, it stands until a frame restores another
  for (uint32_t frame = 0; frame < depth && frame < PROF_MAX_FRAMES; frame++) {
    if (capture->known[frame] & (1u << PROF_ASYNC_REGISTER)) {
      have_r14 = true;
      r14 = capture->registers[frame];
    }
    bool async_frame = !is_executor(start, limit, frames[frame]) && frame + 1 < depth &&
                       is_executor(start, limit, frames[frame + 1]);
    if (!async_frame) continue;
    uint32_t before = capture->count;
    if (capture->known[frame] & (1u << PROF_ASYNC_FRAME_SLOT))
      follow(capture, frame, PROF_ASYNC_FRAME_SLOT, capture->slots[frame], 0);
    if (have_r14) follow(capture, frame, PROF_ASYNC_REGISTER, r14, 0);
    // The task's context costs a read per context again; it is for frames whose
    // slot and r14 lead nowhere, so a chain that already reached a task's entry
    // (two callers at least) is taken as the frame's.
    bool reached_entry = capture->count > before && capture->entries[capture->count - 1].kind == PROF_ASYNC_END &&
                         capture->count >= before + 4;
    if (!reached_entry) follow_current_task(capture, frame);
  }
}

void prof_async_begin(struct prof_async_capture *capture, struct prof_async_entry *entries, uintptr_t stack_low,
                      uintptr_t stack_high) {
  // Only `known` says which staged values are set: zeroing the 2 KB of values on
  // every sample was a fifth of the handler's instructions (callgrind).
  capture->entries = entries;
  capture->count = 0;
  capture->tries = 0;
  capture->last_register = 0;
  capture->stack_low = stack_low;
  capture->stack_high = stack_high;
  capture->pid = 0;
  memset(capture->known, 0, sizeof capture->known);
}


// Buckets key on their candidates: a context's address differs from task to task,
// its place among the sample's distinct values does not, and prof pairs candidates
// by value only (the first of a value carries the chain).
void prof_async_canonicalize(struct prof_async_capture *capture) {
  uint64_t seen[PROF_ASYNC_MAX_TRIES];
  uint32_t distinct = 0;
  for (uint32_t i = 0; i < capture->count; i++) {
    struct prof_async_entry *entry = &capture->entries[i];
    if (entry->kind != PROF_ASYNC_REGISTER && entry->kind != PROF_ASYNC_FRAME_SLOT && entry->kind != PROF_ASYNC_TASK)
      continue;
    uint32_t ordinal = 0;
    while (ordinal < distinct && seen[ordinal] != entry->value) ordinal++;
    if (ordinal == distinct && distinct < PROF_ASYNC_MAX_TRIES) seen[distinct++] = entry->value;
    entry->value = ordinal + 1;
  }
}
