// Which code keeps a frame pointer at its calls, for --unwind hybrid: decided per
// function from the module's own unwind tables (.eh_frame, through the mapped
// .eh_frame_hdr), when the writer first sees the module. A function whose CFI
// says CFA = rbp + 16 with the caller's rbp saved at CFA - 16 has pushed rbp and
// pointed rbp at it before any call (compilers set the frame up first), so at a
// return address inside it the saved-rbp chain is exactly what DWARF would find.
// Everything else (no FDE, frameless, rsp-based frames, expressions, signal
// frames, tables in an unusual encoding) is left to libunwind.
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "agent.h"

#define MAX_MODULES 1024
#define MAX_RANGES 65536
#define MAX_RANGES_PER_MODULE 16384  // past this the module is left to DWARF
#define FUNCTION_ALIGNMENT 16        // a smaller gap between two such functions is padding
#define DWARF_RBP 6
#define DWARF_RSP 7

struct fp_range {
  uintptr_t start;
  uintptr_t limit;
};

struct fp_module {
  uintptr_t start, limit;  // the span of its ranges; empty when it has none
  uint32_t first, count;   // its ranges in `ranges`, sorted
  uintptr_t eh_frame_hdr;  // which module: each is scanned once
};

static struct fp_range ranges[MAX_RANGES];
static uint32_t ranges_used;  // the writer's
static struct fp_module modules[MAX_MODULES];
static _Atomic uint32_t module_count;  // published with release once a module is written
static _Atomic uint32_t last_hit;
static _Atomic bool scan_pending;  // modules appeared since the last scan

// --- reading the tables, every byte checked against the copy that holds them ---

// The tables are read from a copy (process_vm_readv cannot fault, and the loader
// lock is not held meanwhile); pc-relative pointers need the original address.
static intptr_t original_minus_copy;

struct reader {
  const uint8_t *at, *limit;
  bool failed;
};

static inline uint64_t read_bytes(struct reader *reader, size_t size) {
  if (reader->failed || (size_t)(reader->limit - reader->at) < size) {
    reader->failed = true;
    return 0;
  }
  uint64_t value = 0;
  // Constant sizes, so each copy is one load (little-endian).
  switch (size) {
  case 1: value = *reader->at; break;
  case 2: { uint16_t v; memcpy(&v, reader->at, 2); value = v; break; }
  case 4: { uint32_t v; memcpy(&v, reader->at, 4); value = v; break; }
  default: memcpy(&value, reader->at, 8); break;
  }
  reader->at += size;
  return value;
}

static uint64_t read_uleb(struct reader *reader) {
  uint64_t value = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    uint64_t byte = read_bytes(reader, 1);
    value |= (byte & 0x7f) << shift;
    if (!(byte & 0x80)) return value;
  }
  reader->failed = true;
  return 0;
}

static int64_t read_sleb(struct reader *reader) {
  uint64_t value = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    uint64_t byte = read_bytes(reader, 1);
    value |= (byte & 0x7f) << shift;
    if (!(byte & 0x80)) return shift + 7 < 64 && (byte & 0x40) ? (int64_t)(value | (~0ULL << (shift + 7))) : (int64_t)value;
  }
  reader->failed = true;
  return 0;
}

// A DW_EH_PE-encoded pointer: absolute, or pc-relative; anything else fails.
static uint64_t read_encoded(struct reader *reader, uint8_t encoding) {
  uintptr_t field = (uintptr_t)reader->at + (uintptr_t)original_minus_copy;
  uint64_t value;
  switch (encoding & 0x0f) {
  case 0x00: case 0x04: value = read_bytes(reader, 8); break;
  case 0x02: value = read_bytes(reader, 2); break;
  case 0x03: value = read_bytes(reader, 4); break;
  case 0x0a: value = (uint64_t)(int64_t)(int16_t)read_bytes(reader, 2); break;
  case 0x0b: value = (uint64_t)(int64_t)(int32_t)read_bytes(reader, 4); break;
  case 0x0c: value = read_bytes(reader, 8); break;
  case 0x01: value = read_uleb(reader); break;
  case 0x09: value = (uint64_t)read_sleb(reader); break;
  default: reader->failed = true; return 0;
  }
  switch (encoding & 0xf0) {
  case 0x00: return value;
  case 0x10: return value + field;
  default: reader->failed = true; return 0;
  }
}

// --- one function's CFI ---------------------------------------------------

struct cfa_state {
  uint64_t cfa_register;
  int64_t cfa_offset;
  int64_t rbp_saved_at;  // offset from the CFA; 1: not saved
};

struct cie {
  uint64_t code_align;
  int64_t data_align;
  uint8_t fde_encoding;
  bool has_augmentation_data;
  bool signal_frame;
  struct reader initial;  // its initial instructions
};

// Runs CFA instructions; true once a row has CFA = rbp + 16 with rbp at CFA - 16.
// Returns false (not a frame-pointer function) on anything it does not model.
static bool runs_with_frame_pointer(struct reader program, const struct cie *cie, struct cfa_state *state,
                                    bool *framed) {
  struct cfa_state remembered[8];
  unsigned depth = 0;
  while (!program.failed && program.at < program.limit) {
    uint8_t op = (uint8_t)read_bytes(&program, 1);
    uint8_t operand = op & 0x3f;
    switch (op >> 6) {
    case 1: continue;  // advance_loc
    case 2: {          // offset
      int64_t offset = (int64_t)read_uleb(&program) * cie->data_align;
      if (operand == DWARF_RBP) state->rbp_saved_at = offset;
      goto row;
    }
    case 3:  // restore
      if (operand == DWARF_RBP) state->rbp_saved_at = 1;
      goto row;
    }
    switch (op) {
    case 0x00: break;                                         // nop
    case 0x02: read_bytes(&program, 1); break;                // advance_loc1
    case 0x03: read_bytes(&program, 2); break;                // advance_loc2
    case 0x04: read_bytes(&program, 4); break;                // advance_loc4
    case 0x05: case 0x11: {                                   // offset_extended(_sf)
      uint64_t reg = read_uleb(&program);
      int64_t factor = op == 0x05 ? (int64_t)read_uleb(&program) : read_sleb(&program);
      if (reg == DWARF_RBP) state->rbp_saved_at = factor * cie->data_align;
      break;
    }
    case 0x06: case 0x07: case 0x08:                          // restore_extended, undefined, same_value
      if (read_uleb(&program) == DWARF_RBP) state->rbp_saved_at = 1;
      break;
    case 0x09:                                                // register
      if (read_uleb(&program) == DWARF_RBP) return false;
      read_uleb(&program);
      break;
    case 0x0a:                                                // remember_state
      if (depth == 8) return false;
      remembered[depth++] = *state;
      break;
    case 0x0b:                                                // restore_state
      if (depth == 0) return false;
      *state = remembered[--depth];
      break;
    case 0x0c:                                                // def_cfa
      state->cfa_register = read_uleb(&program);
      state->cfa_offset = (int64_t)read_uleb(&program);
      break;
    case 0x12:                                                // def_cfa_sf
      state->cfa_register = read_uleb(&program);
      state->cfa_offset = read_sleb(&program) * cie->data_align;
      break;
    case 0x0d: state->cfa_register = read_uleb(&program); break;                 // def_cfa_register
    case 0x0e: state->cfa_offset = (int64_t)read_uleb(&program); break;          // def_cfa_offset
    case 0x13: state->cfa_offset = read_sleb(&program) * cie->data_align; break;  // def_cfa_offset_sf
    case 0x2e: read_uleb(&program); break;                                       // GNU_args_size
    default: return false;  // expressions, val_offset, set_loc, vendor extensions
    }
  row:
    if (state->cfa_register == DWARF_RBP && state->cfa_offset == 16 && state->rbp_saved_at == -16) *framed = true;
  }
  return !program.failed;
}

static bool read_cie(struct reader reader, struct cie *cie) {
  uint64_t length = read_bytes(&reader, 4);
  if (reader.failed || length == 0 || length == 0xffffffff || length > (uint64_t)(reader.limit - reader.at))
    return false;
  reader.limit = reader.at + length;
  uint8_t version;
  if (read_bytes(&reader, 4) != 0 || ((version = (uint8_t)read_bytes(&reader, 1)) != 1 && version != 3)) return false;
  const char *augmentation = (const char *)reader.at;
  size_t augmentation_len = strnlen(augmentation, (size_t)(reader.limit - reader.at));
  if (augmentation_len == (size_t)(reader.limit - reader.at)) return false;
  reader.at += augmentation_len + 1;
  *cie = (struct cie){.fde_encoding = 0};
  cie->code_align = read_uleb(&reader);
  cie->data_align = read_sleb(&reader);
  if (version == 1) read_bytes(&reader, 1);
  else read_uleb(&reader);
  struct reader after = reader;
  if (augmentation[0] == 'z') {
    cie->has_augmentation_data = true;
    uint64_t data_len = read_uleb(&reader);
    if (reader.failed || data_len > (uint64_t)(reader.limit - reader.at)) return false;
    after = (struct reader){reader.at + data_len, reader.limit, false};
    for (size_t i = 1; i < augmentation_len && !reader.failed; i++) {
      switch (augmentation[i]) {
      case 'R': cie->fde_encoding = (uint8_t)read_bytes(&reader, 1); break;
      case 'L': read_bytes(&reader, 1); break;
      case 'P': {
        uint8_t encoding = (uint8_t)read_bytes(&reader, 1);
        read_encoded(&reader, encoding & 0x7f);  // only skipped: indirection does not matter
        break;
      }
      case 'S': cie->signal_frame = true; break;
      default: return false;
      }
    }
  } else if (augmentation_len != 0) {
    return false;
  }
  cie->initial = after;
  return !reader.failed;
}

struct cached_cie {
  const uint8_t *at;
  bool valid;  // read, and its initial instructions modelled
  struct cie cie;
  struct cfa_state initial;  // the state its initial instructions leave
  bool initial_framed;
};

// The function an FDE covers, and whether it keeps a frame pointer at its calls.
// `cache`: the last CIE read (most FDEs of a module share one).
static bool read_fde(const uint8_t *fde, const uint8_t *low, const uint8_t *high, uintptr_t *start, uintptr_t *limit,
                     struct cached_cie *cache) {
  struct reader reader = {fde, high, false};
  uint64_t length = read_bytes(&reader, 4);
  if (reader.failed || length == 0 || length == 0xffffffff || length > (uint64_t)(high - reader.at)) return false;
  reader.limit = reader.at + length;
  const uint8_t *cie_field = reader.at;
  uint64_t cie_offset = read_bytes(&reader, 4);
  if (reader.failed || cie_offset == 0 || cie_offset > (uint64_t)(cie_field - low)) return false;
  const uint8_t *cie_at = cie_field - cie_offset;
  if (cache->at != cie_at) {
    cache->at = cie_at;
    cache->initial = (struct cfa_state){.cfa_register = DWARF_RSP, .cfa_offset = 8, .rbp_saved_at = 1};
    cache->initial_framed = false;
    cache->valid = read_cie((struct reader){cie_at, high, false}, &cache->cie) &&
                   runs_with_frame_pointer(cache->cie.initial, &cache->cie, &cache->initial, &cache->initial_framed);
  }
  if (!cache->valid || cache->cie.signal_frame) return false;
  const struct cie cie = cache->cie;
  *start = (uintptr_t)read_encoded(&reader, cie.fde_encoding);
  *limit = *start + (uintptr_t)read_encoded(&reader, cie.fde_encoding & 0x0f);
  if (cie.has_augmentation_data) {
    uint64_t data_len = read_uleb(&reader);
    if (reader.failed || data_len > (uint64_t)(reader.limit - reader.at)) return false;
    reader.at += data_len;
  }
  if (reader.failed || *limit <= *start) return false;
  struct cfa_state state = cache->initial;
  bool framed = cache->initial_framed;
  return runs_with_frame_pointer(reader, &cie, &state, &framed) && framed;
}

// Appends the module's frame-pointer functions, merged across padding, to `ranges`.
// [low, high): a copy of its .eh_frame and .eh_frame_hdr (at `header`), in either order.
static void add_ranges(const uint8_t *low, const uint8_t *header, const uint8_t *high, uint32_t *count) {
  struct reader reader = {header, high, false};
  // version 1; eh_frame_ptr pc-relative sdata4; fde_count udata4; table datarel sdata4
  if (read_bytes(&reader, 4) != 0x3b031b01 || reader.failed) return;
  read_bytes(&reader, 4);
  uint32_t fdes = (uint32_t)read_bytes(&reader, 4);
  if (reader.failed || fdes > (uint64_t)(high - reader.at) / 8) return;
  bool merge = false;  // the last range may grow: nothing else lies between
  struct cached_cie cache = {NULL, false, {0}};
  for (uint32_t i = 0; i < fdes; i++) {
    read_bytes(&reader, 4);  // the table's initial location: the FDE says it again
    const uint8_t *fde = header + (int32_t)read_bytes(&reader, 4);
    uintptr_t start, limit;
    if (fde < low || fde >= high || !read_fde(fde, low, high, &start, &limit, &cache)) {
      merge = false;
      continue;
    }
    struct fp_range *last = *count ? &ranges[ranges_used + *count - 1] : NULL;
    if (merge && last && start >= last->limit && start - last->limit < FUNCTION_ALIGNMENT) {
      last->limit = limit;
    } else if (last && start < last->limit) {
      *count = 0;  // unsorted or overlapping: not the table this code expects
      return;
    } else {
      if (*count == MAX_RANGES_PER_MODULE || ranges_used + *count == MAX_RANGES) {
        *count = 0;
        return;
      }
      ranges[ranges_used + *count] = (struct fp_range){start, limit};
      (*count)++;
    }
    merge = true;
  }
}

// Modules seen by the loader walk and not read yet: their .eh_frame_hdr, and the
// span of the segment holding it from .eh_frame or the header, whichever is first.
static struct {
  uintptr_t header, low, limit;
} unread[MAX_MODULES];
static uint32_t unread_count;

static bool known(uintptr_t header) {
  uint32_t published = atomic_load_explicit(&module_count, memory_order_relaxed);
  for (uint32_t i = 0; i < published; i++)
    if (modules[i].eh_frame_hdr == header) return true;
  for (uint32_t i = 0; i < unread_count; i++)
    if (unread[i].header == header) return true;
  return false;
}

static int note_module(struct dl_phdr_info *info, size_t size, void *context) {
  (void)size;
  (void)context;
  uintptr_t header = 0;
  for (int i = 0; i < info->dlpi_phnum; i++)
    if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME) header = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
  if (header == 0 || known(header) || unread_count == MAX_MODULES) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
    uintptr_t start = info->dlpi_addr + segment->p_vaddr;
    uintptr_t limit = start + segment->p_filesz;
    if (segment->p_type != PT_LOAD || header < start || header + 8 > limit) continue;
    // The header's eh_frame_ptr, when pc-relative sdata4 (what add_ranges reads).
    const uint8_t *bytes = (const uint8_t *)header;
    int32_t offset;
    memcpy(&offset, bytes + 4, 4);
    uintptr_t eh_frame = header + 4 + (uintptr_t)(intptr_t)offset;
    if (bytes[0] != 1 || bytes[1] != 0x1b || eh_frame < start || eh_frame >= limit) return 0;
    unread[unread_count].header = header;
    unread[unread_count].low = eh_frame < header ? eh_frame : header;
    unread[unread_count++].limit = limit;
    return 0;
  }
  return 0;
}

#define MAX_TABLE_BYTES (64u << 20)

// Reads one module's tables from a copy and publishes its ranges (none: all DWARF).
static void read_module(uintptr_t header, uintptr_t low, uintptr_t limit) {
  uint32_t published = atomic_load_explicit(&module_count, memory_order_relaxed);
  if (published == MAX_MODULES) return;
  uint32_t count = 0;
  size_t bytes = limit - low;
  void *copy = bytes <= MAX_TABLE_BYTES ? mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                                        : MAP_FAILED;
  if (copy != MAP_FAILED) {
    struct iovec local = {copy, bytes}, remote = {(void *)low, bytes};
    if (syscall(SYS_process_vm_readv, getpid(), &local, 1UL, &remote, 1UL, 0UL) == (ssize_t)bytes) {
      original_minus_copy = (intptr_t)(low - (uintptr_t)copy);
      add_ranges(copy, (const uint8_t *)copy + (header - low), (const uint8_t *)copy + bytes, &count);
    }
    munmap(copy, bytes);
  }
  modules[published] = (struct fp_module){0, 0, ranges_used, count, header};
  if (count > 0) {
    modules[published].start = ranges[ranges_used].start;
    modules[published].limit = ranges[ranges_used + count - 1].limit;
  }
  ranges_used += count;
  atomic_store_explicit(&module_count, published + 1, memory_order_release);
}

void prof_frame_pointer_map_note_new_module(void) { atomic_store_explicit(&scan_pending, true, memory_order_relaxed); }

// Not at start, in the program's constructor, and not under the loader lock, which
// libunwind in every sampled thread needs: reading every module's tables takes
// milliseconds (Foundation's alone has tens of thousands of functions). Until a
// module is read its frames simply go to libunwind.
void prof_frame_pointer_map_scan(void) {
  if (prof_config.unwinder != PROF_UNWIND_HYBRID || !atomic_exchange(&scan_pending, false)) return;
  if (!prof_loader_enter_waiting()) return;
  unread_count = 0;
  dl_iterate_phdr(note_module, NULL);
  prof_loader_leave();
  for (uint32_t i = 0; i < unread_count; i++) read_module(unread[i].header, unread[i].low, unread[i].limit);
  unread_count = 0;
}

bool prof_frame_pointer_map_covers(uintptr_t address) {
  uint32_t count = atomic_load_explicit(&module_count, memory_order_acquire);
  uint32_t hint = atomic_load_explicit(&last_hit, memory_order_relaxed);
  uint32_t found = count;
  if (hint < count && address >= modules[hint].start && address < modules[hint].limit) {
    found = hint;
  } else {
    for (uint32_t i = 0; i < count; i++)
      if (address >= modules[i].start && address < modules[i].limit) {
        found = i;
        atomic_store_explicit(&last_hit, i, memory_order_relaxed);
        break;
      }
  }
  if (found == count) return false;
  const struct fp_range *table = &ranges[modules[found].first];
  uint32_t lower = 0, upper = modules[found].count;  // the first range whose limit is above address
  while (lower < upper) {
    uint32_t middle = lower + (upper - lower) / 2;
    if (table[middle].limit <= address) lower = middle + 1;
    else upper = middle;
  }
  return lower < modules[found].count && address >= table[lower].start;
}
