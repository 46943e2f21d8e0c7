// The module map: every loaded ELF object's executable segments with its build id,
// re-sent whenever the dynamic loader reports objects added or removed (dlopen).
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

static unsigned long long seen_adds, seen_subs;

// The records last sent, for a forked child: its modules at fork are these, and it
// may not be able to ask the loader (loader_guard.c). Records that do not fit are
// left out of the child's stream, never cut.
static uint64_t sent_records[256 * 1024 / 8];
static size_t sent_length;
static bool resend_pending;

static void remember_sent(const void *record, size_t size) {
  if (size > sizeof sent_records - sent_length) return;
  memcpy((char *)sent_records + sent_length, record, size);
  sent_length += size;
}

static size_t find_build_id(const struct dl_phdr_info *info, const unsigned char **id) {
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
    if (segment->p_type != PT_NOTE) continue;
    const unsigned char *note = (const unsigned char *)(info->dlpi_addr + segment->p_vaddr);
    const unsigned char *end = note + segment->p_memsz;
    while (note + sizeof(ElfW(Nhdr)) <= end) {
      const ElfW(Nhdr) *header = (const ElfW(Nhdr) *)note;
      const unsigned char *name = note + sizeof *header;
      const unsigned char *descriptor = name + ((header->n_namesz + 3) & ~3u);
      if (header->n_type == NT_GNU_BUILD_ID && header->n_namesz == 4 &&
          memcmp(name, "GNU", 4) == 0) {
        *id = descriptor;
        return header->n_descsz;
      }
      note = descriptor + ((header->n_descsz + 3) & ~3u);
    }
  }
  return 0;
}

static size_t module_path(const struct dl_phdr_info *info, char *path, size_t capacity) {
  if (info->dlpi_name && info->dlpi_name[0]) {
    size_t length = strnlen(info->dlpi_name, capacity);
    memcpy(path, info->dlpi_name, length);
    return length;
  }
  ssize_t length = readlink("/proc/self/exe", path, capacity);  // "" is the executable
  return length > 0 ? (size_t)length : 0;
}

static int emit_module(struct dl_phdr_info *info, size_t size, void *context) {
  (void)size;
  (void)context;
  uint64_t storage[(sizeof(struct prof_module_record) + 64 + 4096) / 8 + 1];
  struct prof_module_record *record = (struct prof_module_record *)storage;
  char *payload = (char *)(record + 1);
  const unsigned char *build_id = NULL;
  size_t build_id_len = find_build_id(info, &build_id);
  if (build_id_len > 64) build_id_len = 0;
  memcpy(payload, build_id, build_id_len);
  size_t path_len = module_path(info, payload + build_id_len, 4096);
  char path[4096 + 1];
  memcpy(path, payload + build_id_len, path_len);
  path[path_len] = 0;
  prof_code_map_add(info, path);
  size_t unpadded = sizeof *record + build_id_len + path_len;
  uint32_t record_size = (uint32_t)((unpadded + 7) & ~(size_t)7);
  memset((char *)record + unpadded, 0, record_size - unpadded);
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
    if (segment->p_type != PT_LOAD || !(segment->p_flags & PF_X)) continue;
    record->header = (struct prof_record_header){PROF_REC_MODULE, record_size};
    record->start = info->dlpi_addr + segment->p_vaddr;
    record->limit = record->start + segment->p_memsz;
    record->file_offset = segment->p_offset;
    record->load_bias = info->dlpi_addr;
    record->build_id_len = (uint32_t)build_id_len;
    record->path_len = (uint32_t)path_len;
    prof_output_append(record, record_size);
    remember_sent(record, record_size);
    prof_async_note_module(payload + build_id_len, path_len, record->start, record->limit);
  }
  return 0;
}

static int read_counters(struct dl_phdr_info *info, size_t size, void *context) {
  (void)context;
  if (size < offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) return 1;
  seen_adds = info->dlpi_adds;
  seen_subs = info->dlpi_subs;
  return 1;  // the counters are global: the first object is enough
}

void prof_modules_emit_if_changed(void) {
  if (resend_pending) {
    resend_pending = false;
    prof_output_append(sent_records, sent_length);
    return;
  }
  if (!prof_loader_enter_waiting()) return;  // a child that must not: its parent's modules stand
  unsigned long long adds = seen_adds, subs = seen_subs;
  dl_iterate_phdr(read_counters, NULL);
  if (adds != seen_adds || subs != seen_subs || adds == 0) {
    sent_length = 0;
    dl_iterate_phdr(emit_module, NULL);
  }
  prof_loader_leave();
}

void prof_modules_resend_cached(void) { resend_pending = true; }

void prof_modules_forget(void) {
  seen_adds = seen_subs = 0;
  resend_pending = false;
}
