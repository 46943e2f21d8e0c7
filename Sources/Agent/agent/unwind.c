// Stack capture: from inside the SIGPROF handler, starting at the interrupted
// context so the handler's own frames never appear, and (frame pointers) from
// heap mode's allocation hook.
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <pthread.h>
#include <string.h>
#include <ucontext.h>

#include "agent.h"

// Stack bounds of the current thread, for the frame-pointer walk; zero when unknown.
static __thread uintptr_t stack_low __attribute__((tls_model("initial-exec")));
static __thread uintptr_t stack_high __attribute__((tls_model("initial-exec")));

// libunwind is opened, not linked: a dormant agent and --unwind fp never load it,
// and RTLD_LOCAL keeps its symbols (it exports `backtrace`) out of the program's way.
// libunwind.h renames the API per architecture (unw_step is _ULx86_64_step); the
// names are looked up through the same macros.
#define NAME_OF(function) NAME_TEXT(function)
#define NAME_TEXT(function) #function
#define LOOK_UP(handle, function) ((__typeof__(&function))dlsym(handle, NAME_OF(function)))

static struct {
  __typeof__(&unw_init_local2) init_local2;
  __typeof__(&unw_step) step;
  __typeof__(&unw_get_reg) get_reg;
  __typeof__(&unw_is_signal_frame) is_signal_frame;
  __typeof__(&unw_tdep_getcontext) get_context;
} libunwind;
int (*prof_unwind_backtrace)(void **frames, int max);

bool prof_unwind_init(void) {
  if (prof_config.unwinder == PROF_UNWIND_FRAME_POINTERS) return true;
  void *handle = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
  if (handle == NULL) return false;
  __typeof__(&unw_set_caching_policy) set_caching_policy = LOOK_UP(handle, unw_set_caching_policy);
  unw_addr_space_t *local_space = dlsym(handle, NAME_OF(unw_local_addr_space));
  libunwind.init_local2 = LOOK_UP(handle, unw_init_local2);
  libunwind.step = LOOK_UP(handle, unw_step);
  libunwind.get_reg = LOOK_UP(handle, unw_get_reg);
  libunwind.is_signal_frame = LOOK_UP(handle, unw_is_signal_frame);
  libunwind.get_context = LOOK_UP(handle, unw_tdep_getcontext);
  int (*backtrace)(void **, int) = LOOK_UP(handle, unw_backtrace);
  if (!set_caching_policy || !local_space || !libunwind.init_local2 || !libunwind.step || !libunwind.get_reg ||
      !libunwind.is_signal_frame || !libunwind.get_context || !backtrace)
    return false;
  // Per-thread caches keep libunwind free of locks in the handler; one unwind here
  // runs its one-time initialisation outside signal context.
  set_caching_policy(*local_space, UNW_CACHE_PER_THREAD);
  void *frames[4];
  backtrace(frames, 4);
  prof_unwind_backtrace = backtrace;
  return true;
}

void prof_unwind_thread_started(void) {
  pthread_attr_t attributes;
  void *address;
  size_t size;
  if (pthread_getattr_np(pthread_self(), &attributes) != 0) return;
  if (pthread_attr_getstack(&attributes, &address, &size) == 0) {
    stack_low = (uintptr_t)address;
    stack_high = stack_low + size;
  }
  pthread_attr_destroy(&attributes);
}

// The word below a frame pointer on this thread's stack, read only within its bounds.
static void stage_frame_slot(struct prof_async_capture *async, uint32_t frame, uintptr_t frame_pointer) {
  if (stack_high == 0 || frame_pointer < stack_low + 8 || frame_pointer > stack_high - 8 || (frame_pointer & 7) != 0)
    return;
  prof_async_candidate(async, frame, PROF_ASYNC_FRAME_SLOT, ((const uint64_t *)frame_pointer)[-1]);
}

static uint32_t unwind_libunwind(ucontext_t *context, int flags, uint64_t *frames, uint32_t max,
                                 uint32_t *truncated, struct prof_async_capture *async) {
  unw_cursor_t cursor;
  if (libunwind.init_local2(&cursor, context, flags) < 0) return 0;
  uint32_t depth = 0;
  unw_word_t previous_rbp = 0;
  for (;;) {
    unw_word_t ip;
    if (libunwind.get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0) break;
    if (async) {
      // r14 as this frame saw it: libunwind restores callee-saved registers per frame.
      unw_word_t r14, rbp;
      if (libunwind.get_reg(&cursor, UNW_X86_64_R14, &r14) == 0)
        prof_async_candidate(async, depth, PROF_ASYNC_REGISTER, r14);
      // A frame whose rbp differs from its caller's set up a frame pointer: with the
      // async frame layout, the word below it is its context (a partial function
      // that spills r14 and reuses it keeps it there too).
      if (libunwind.get_reg(&cursor, UNW_X86_64_RBP, &rbp) == 0) {
        if (depth > 0 && previous_rbp != rbp) stage_frame_slot(async, depth - 1, previous_rbp);
        previous_rbp = rbp;
      }
    }
    frames[depth++] = ip;
    int stepped = libunwind.step(&cursor);
    if (stepped <= 0) break;
    if (depth == max) {
      *truncated = 1;
      break;
    }
  }
  return depth;
}

// Follows saved rbp links from `frame`, appending return addresses after `depth`
// frames. Sound only for code built with frame pointers (SwiftPM builds and the
// Swift runtime are); every load is checked against this thread's stack first, and
// the walk ends at the first "return address" outside the modules' code: past a
// frame without a frame pointer, rbp is any value and the chain is garbage.
static uint32_t walk_frame_pointers(uintptr_t frame, uint64_t *frames, uint32_t depth, uint32_t max,
                                    uint32_t *truncated, struct prof_async_capture *async) {
  if (stack_high == 0) return depth;  // bounds unknown: reading would be a guess
  while (depth < max) {
    if (frame < stack_low || frame > stack_high - 16 || (frame & 7) != 0) return depth;
    const uintptr_t *slots = (const uintptr_t *)frame;
    // The async frame layout keeps the context below the saved rbp of the frame's
    // owner, the function of the last frame appended.
    if (async && depth > 0 && frame - 8 >= stack_low)
      prof_async_candidate(async, depth - 1, PROF_ASYNC_FRAME_SLOT, slots[-1]);
    uintptr_t return_address = slots[1];
    if (return_address == 0 || !prof_code_map_is_code(return_address)) return depth;
    frames[depth++] = return_address;
    if (slots[0] <= frame) return depth;  // frames grow upward; anything else is garbage
    frame = slots[0];
  }
  *truncated = 1;
  return depth;
}

// Where the interrupted function's return address is while rbp is still its
// caller's frame, as an offset from the stack pointer; -1 when rbp is its own frame.
// A PLT stub pushes no frame; a function at its entry (push %rbp, after endbr64 or
// not), just after it (mov %rsp,%rbp) or at its ret has none set up. The bytes read
// are those of the instruction at pc, which is mapped: the thread was running it.
static int return_address_offset(uintptr_t pc) {
  if (prof_code_map_is_plt(pc)) return 0;
  if (!prof_code_map_is_code(pc)) return -1;
  const uint8_t *code = (const uint8_t *)pc;
  if (code[0] == 0xc3 || code[0] == 0x55) return 0;      // ret, push %rbp
  if (code[0] == 0xf3 && code[1] == 0xc3) return 0;      // rep ret
  if (code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e && code[3] == 0xfa)  // endbr64
    return code[4] == 0x55 ? 0 : -1;
  if (code[0] == 0x48 && code[1] == 0x89 && code[2] == 0xe5) return 8;  // mov %rsp,%rbp
  return -1;
}

static uint32_t unwind_frame_pointers(ucontext_t *context, uint64_t *frames, uint32_t max, uint32_t *truncated,
                                      struct prof_async_capture *async) {
  uintptr_t pc = (uintptr_t)context->uc_mcontext.gregs[REG_RIP];
  // Without unwind tables only the interrupted r14 is known: it is still the
  // async frame's when the frames above it left r14 alone (it is callee-saved).
  if (async) prof_async_candidate(async, 0, PROF_ASYNC_REGISTER, (uint64_t)context->uc_mcontext.gregs[REG_R14]);
  uintptr_t sp = (uintptr_t)context->uc_mcontext.gregs[REG_RSP];
  frames[0] = pc;
  uint32_t depth = 1;
  // Where rbp is still the caller's frame, the caller's return address is on the
  // stack, and the walk goes on from rbp to the caller's callers.
  int offset = return_address_offset(pc);
  if (offset >= 0 && stack_high != 0 && sp >= stack_low && sp + (uintptr_t)offset <= stack_high - 8 && max > 1) {
    uintptr_t return_address = *(const uintptr_t *)(sp + (uintptr_t)offset);
    if (prof_code_map_is_code(return_address)) frames[depth++] = return_address;
  }
  return walk_frame_pointers((uintptr_t)context->uc_mcontext.gregs[REG_RBP], frames, depth, max, truncated, async);
}

// Appends the frames of a saved-rbp chain from `frame`, the frame pointer of
// frames[*depth - 1], while their return addresses are in frame-pointer functions
// (frame_pointer_map.c). Returns the frame to go on from with DWARF: the return
// address is the last frame appended, *rsp and *rbp its registers; false: the stack
// ended (or was cut at max). Every load is checked against this thread's stack.
static bool follow_frame_pointers(uintptr_t frame, uint64_t *frames, uint32_t *depth, uint32_t max,
                                  uint32_t *truncated, struct prof_async_capture *async, uintptr_t *rsp,
                                  uintptr_t *rbp) {
  while (*depth < max) {
    if (frame < stack_low || frame > stack_high - 16 || (frame & 7) != 0) return false;
    const uintptr_t *slots = (const uintptr_t *)frame;
    if (async && frame - 8 >= stack_low) prof_async_candidate(async, *depth - 1, PROF_ASYNC_FRAME_SLOT, slots[-1]);
    uintptr_t return_address = slots[1];
    if (return_address == 0 || !prof_code_map_is_code(return_address)) return false;
    frames[(*depth)++] = return_address;
    // The caller is the function holding the call, before its return address.
    if (!prof_frame_pointer_map_covers(return_address - 1)) {
      *rsp = frame + 16;
      *rbp = slots[0];
      return true;
    }
    if (slots[0] <= frame) return false;
    frame = slots[0];
  }
  *truncated = 1;
  return false;
}

// libunwind for the interrupted frame (it may be in a prologue), for frames just
// above a signal frame, and for functions without a frame pointer; the rbp chain
// through functions whose CFI shows they keep one. Where the chain meets other code,
// libunwind starts again from that frame's registers (rip, rsp, rbp are exact; the
// other callee-saved registers are stale there, so r14 is no longer offered for
// async contexts: the frame slots are).
static uint32_t unwind_hybrid(ucontext_t *context, uint64_t *frames, uint32_t max, uint32_t *truncated,
                              struct prof_async_capture *async) {
  unw_cursor_t cursor;
  ucontext_t resumed;  // the registers of the frame where the rbp chain met other code
  if (libunwind.init_local2(&cursor, context, UNW_INIT_SIGNAL_FRAME) < 0) return 0;
  uint32_t depth = 0;
  bool registers_exact = true;
  bool after_signal_frame = true;  // the first frame was interrupted too
  for (;;) {
    unw_word_t ip;
    if (libunwind.get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0) break;
    unw_word_t r14;
    if (async && registers_exact && libunwind.get_reg(&cursor, UNW_X86_64_R14, &r14) == 0)
      prof_async_candidate(async, depth, PROF_ASYNC_REGISTER, r14);
    frames[depth++] = ip;
    unw_word_t frame;
    if (!after_signal_frame && prof_frame_pointer_map_covers(ip - 1) &&
        libunwind.get_reg(&cursor, UNW_X86_64_RBP, &frame) == 0) {
      uintptr_t rsp, rbp;
      uint32_t before = depth;
      bool resume = follow_frame_pointers(frame, frames, &depth, max, truncated, async, &rsp, &rbp);
      if (prof_config.unwind_check)
        atomic_fetch_add_explicit(&prof_counters.frame_pointer_frames, depth - before, memory_order_relaxed);
      if (!resume) return depth;
      resumed = *context;
      resumed.uc_mcontext.gregs[REG_RIP] = (greg_t)frames[depth - 1];
      resumed.uc_mcontext.gregs[REG_RSP] = (greg_t)rsp;
      resumed.uc_mcontext.gregs[REG_RBP] = (greg_t)rbp;
      if (libunwind.init_local2(&cursor, &resumed, 0) < 0) return depth;
      registers_exact = false;
    }
    after_signal_frame = libunwind.is_signal_frame(&cursor) > 0;
    if (libunwind.step(&cursor) <= 0) break;
    if (depth == max) {
      *truncated = 1;
      break;
    }
  }
  return depth;
}

// PROF_UNWIND_CHECK: libunwind's stack for the same context, compared frame by frame.
static void check_against_libunwind(ucontext_t *context, const uint64_t *frames, uint32_t depth, uint32_t truncated) {
  uint64_t expected[PROF_MAX_FRAMES];
  uint32_t expected_truncated = 0;
  uint32_t expected_depth =
      unwind_libunwind(context, UNW_INIT_SIGNAL_FRAME, expected, PROF_MAX_FRAMES, &expected_truncated, NULL);
  bool same = expected_depth == depth && expected_truncated == truncated &&
              memcmp(expected, frames, sizeof *frames * depth) == 0;
  atomic_fetch_add_explicit(&prof_counters.unwind_checked, 1, memory_order_relaxed);
  if (!same) atomic_fetch_add_explicit(&prof_counters.unwind_mismatched, 1, memory_order_relaxed);
}

// Not in a signal handler: the first call on a thread may allocate (its stack
// bounds), so heap mode calls it with its guard up.
uint32_t prof_unwind_callers(uint64_t *frames, uint32_t max, uint32_t *truncated) {
  *truncated = 0;
  if (stack_high == 0) prof_unwind_thread_started();
  return walk_frame_pointers((uintptr_t)__builtin_frame_address(0), frames, 0, max, truncated, NULL);
}

// Whether an async partial function's frame is among these: the executor's code
// called it. Cheap (no reads), so the hooks walk again with registers only then.
static bool has_async_frame(const uint64_t *frames, uint32_t depth) {
  for (uint32_t frame = 1; frame < depth; frame++)
    if (prof_async_is_executor(frames[frame]) && !prof_async_is_executor(frames[frame - 1])) return true;
  return false;
}

// The hooks' stack with its async candidates (heap and contention buckets);
// frames holds max + 1, as for prof_capture_stack. The
// first walk is the hook's ordinary one; only a stack with an async frame is
// walked again, with libunwind's registers (r14 restored per frame through the
// unwind tables), or, with frame pointers, the word below each one and r14 as it
// is here: callee-saved, it is still the async frame's unless a frame between
// reused it, and prof accepts it only if its chain begins with an async function.
uint32_t prof_unwind_callers_async(uint64_t *frames, uint32_t max, uint32_t *truncated,
                                   struct prof_async_entry *async, uint32_t *async_count) {
  *async_count = 0;
  uint64_t r14;
  __asm__ volatile("mov %%r14, %0" : "=r"(r14));
  if (stack_high == 0) prof_unwind_thread_started();
  struct prof_async_capture capture;
  prof_async_begin(&capture, async, stack_low, stack_high);
  uint32_t depth;
  if (prof_config.unwinder != PROF_UNWIND_FRAME_POINTERS && prof_unwind_backtrace != NULL && prof_loader_enter()) {
    int found = prof_unwind_backtrace((void **)frames, (int)max + 1);  // frames holds max + 1
    *truncated = found > (int)max;
    depth = *truncated ? max : (uint32_t)(found > 0 ? found : 0);
    if (has_async_frame(frames, depth)) {
      unw_context_t context;
      *truncated = 0;
      if (libunwind.get_context(&context) == 0)
        depth = unwind_libunwind((ucontext_t *)&context, 0, frames, max, truncated, &capture);
    }
    prof_loader_leave();
  } else {
    *truncated = 0;
    prof_async_candidate(&capture, 0, PROF_ASYNC_REGISTER, r14);
    depth = walk_frame_pointers((uintptr_t)__builtin_frame_address(0), frames, 0, max, truncated, &capture);
  }
  prof_async_finish(&capture, frames, depth);
  prof_async_canonicalize(&capture);
  *async_count = capture.count;
  return depth;
}

uint32_t prof_unwind(void *ucontext, uint64_t *frames, uint32_t max, uint32_t *truncated,
                     struct prof_async_entry *async, uint32_t *async_count) {
  *truncated = 0;
  struct prof_async_capture capture;
  if (async) prof_async_begin(&capture, async, stack_low, stack_high);
  struct prof_async_capture *candidates = async ? &capture : NULL;
  // libunwind asks the loader; while a fork is under way (loader_guard.c), frame pointers.
  uint32_t depth;
  if (prof_config.unwinder != PROF_UNWIND_FRAME_POINTERS && prof_loader_enter()) {
    if (prof_config.unwinder == PROF_UNWIND_HYBRID) {
      depth = unwind_hybrid(ucontext, frames, max, truncated, candidates);
      if (prof_config.unwind_check) check_against_libunwind(ucontext, frames, depth, *truncated);
    } else {
      depth = unwind_libunwind(ucontext, UNW_INIT_SIGNAL_FRAME, frames, max, truncated, candidates);
    }
    prof_loader_leave();
  } else {
    depth = unwind_frame_pointers(ucontext, frames, max, truncated, candidates);
  }
  if (async) {
    prof_async_finish(&capture, frames, depth);
    *async_count = capture.count;
  }
  return depth;
}
