// Compile-time checks that the records keep the layout STREAM.md promises.
#include "prof_stream.h"
#include <stddef.h>

_Static_assert(sizeof(struct prof_record_header) == 8, "header is 8 bytes");
_Static_assert(sizeof(struct prof_start_record) % 8 == 0, "records are 8-aligned");
_Static_assert(offsetof(struct prof_sample_record, frames) == 40, "sample frames at 40");
_Static_assert(sizeof(struct prof_thread_record) == 32, "thread record is 32 bytes");
_Static_assert(sizeof(struct prof_module_record) == 48, "module record is 48 bytes");
_Static_assert(sizeof(struct prof_stats_record) == 64, "stats record is 64 bytes");
_Static_assert(sizeof(struct prof_end_record) == 16, "end record is 16 bytes");
_Static_assert(sizeof(struct prof_idle_record) == 32, "idle record is 32 bytes");
_Static_assert(sizeof(struct prof_trace_record) == 48, "trace record is 48 bytes");
_Static_assert(sizeof(struct prof_rss_record) == 24, "rss record is 24 bytes");
_Static_assert(sizeof(struct prof_notice_record) == 48, "notice record is 48 bytes");
_Static_assert(offsetof(struct prof_heap_bucket_record, frames) == 24, "heap bucket frames at 24");
_Static_assert(sizeof(struct prof_heap_count) == 72, "heap count is 72 bytes");
_Static_assert(offsetof(struct prof_heap_counts_record, counts) == 16, "heap counts at 16");
_Static_assert(sizeof(struct prof_heap_counts_record) <= 65536, "heap counts fit a record");
_Static_assert(sizeof(struct prof_heap_stats_record) == 72, "heap stats record is 72 bytes");
