// Where the loaded modules' code is, for the frame-pointer walk, which runs in the
// signal handler: their executable segments (a "return address" outside them is
// garbage from a frame without a frame pointer) and their PLT stubs (a pc inside
// one has its caller's return address at the stack pointer: stubs push no frame).
// The writer appends ranges as modules appear; the handler reads what is published.
// Ranges are never removed: one left by dlclose can only let a wrong address pass.
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

#define MAX_CODE_RANGES 2048
#define MAX_PLT_RANGES 1024

struct code_range {
  uintptr_t start;
  uintptr_t limit;
};

struct range_table {
  struct code_range ranges[MAX_CODE_RANGES];
  _Atomic uint32_t count;  // published with release once a range is written
  _Atomic uint32_t last_hit;  // a stack's frames are mostly in a few modules: look there first
};

// Zero-initialised, so in .bss: an initialiser would put 64 KB in .data, read from
// the file into every process that loads the agent, dormant or not.
static struct range_table code;
static struct range_table plt;

static bool contains(struct range_table *table, uintptr_t address) {
  uint32_t count = atomic_load_explicit(&table->count, memory_order_acquire);
  uint32_t hint = atomic_load_explicit(&table->last_hit, memory_order_relaxed);
  if (hint < count && address >= table->ranges[hint].start && address < table->ranges[hint].limit) return true;
  for (uint32_t i = 0; i < count; i++) {
    if (address >= table->ranges[i].start && address < table->ranges[i].limit) {
      atomic_store_explicit(&table->last_hit, i, memory_order_relaxed);
      return true;
    }
  }
  return false;
}

// False when the range was known: modules are sent again after every dlopen.
static bool append(struct range_table *table, uint32_t capacity, uintptr_t start, uintptr_t limit) {
  uint32_t count = atomic_load_explicit(&table->count, memory_order_relaxed);
  for (uint32_t i = 0; i < count; i++)
    if (table->ranges[i].start == start) return false;
  if (count == capacity) return false;
  table->ranges[count] = (struct code_range){start, limit};
  atomic_store_explicit(&table->count, count + 1, memory_order_release);
  return true;
}

bool prof_code_map_is_code(uintptr_t address) {
  // Nothing known yet (heap mode before the agent's start): every address passes.
  return atomic_load_explicit(&code.count, memory_order_acquire) == 0 || contains(&code, address);
}

bool prof_code_map_is_plt(uintptr_t address) { return contains(&plt, address); }

static bool is_plt_section(const char *name) {
  return strcmp(name, ".plt") == 0 || strcmp(name, ".plt.sec") == 0 || strcmp(name, ".plt.got") == 0;
}

// PLT sections from the file's section headers, which are not mapped: read with
// pread, a few at a time, into the stack.
static void add_plt_sections(const char *path, uintptr_t load_bias) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ElfW(Ehdr) header;
  ElfW(Shdr) names;
  if (pread(fd, &header, sizeof header, 0) != sizeof header || memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
      header.e_shentsize != sizeof(ElfW(Shdr)) || header.e_shstrndx >= header.e_shnum ||
      pread(fd, &names, sizeof names, (off_t)(header.e_shoff + header.e_shstrndx * sizeof names)) != sizeof names) {
    close(fd);
    return;
  }
  ElfW(Shdr) sections[32];
  for (unsigned first = 0; first < header.e_shnum; first += 32) {
    unsigned count = header.e_shnum - first < 32 ? header.e_shnum - first : 32;
    ssize_t bytes = (ssize_t)(count * sizeof *sections);
    if (pread(fd, sections, (size_t)bytes, (off_t)(header.e_shoff + first * sizeof *sections)) != bytes) break;
    for (unsigned i = 0; i < count; i++) {
      char name[16] = {0};
      if (sections[i].sh_addr == 0 || sections[i].sh_name >= names.sh_size ||
          pread(fd, name, sizeof name - 1, (off_t)(names.sh_offset + sections[i].sh_name)) <= 0)
        continue;
      if (is_plt_section(name))
        append(&plt, MAX_PLT_RANGES, load_bias + sections[i].sh_addr, load_bias + sections[i].sh_addr + sections[i].sh_size);
    }
  }
  close(fd);
}

bool prof_code_segment(const struct dl_phdr_info *info, int i, uintptr_t *start, uintptr_t *end) {
  const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
  if (segment->p_type != PT_LOAD || !(segment->p_flags & PF_X)) return false;
  *start = info->dlpi_addr + segment->p_vaddr;
  *end = *start + segment->p_memsz;
  return true;
}

void prof_code_map_add(const struct dl_phdr_info *info, const char *path) {
  bool new_module = false;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    uintptr_t start, end;
    if (prof_code_segment(info, i, &start, &end)) new_module |= append(&code, MAX_CODE_RANGES, start, end);
  }
  if (new_module && path[0] == '/') add_plt_sections(path, info->dlpi_addr);
  if (new_module) prof_frame_pointer_map_note_new_module();
}
