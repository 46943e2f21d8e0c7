// The stream the agent writes to prof: a header, then records. Specified in
// Sources/Agent/STREAM.md. Host byte order: writer and reader share a machine.
#ifndef PROF_STREAM_H
#define PROF_STREAM_H

#include <stdint.h>

#define PROF_STREAM_MAGIC 0x3154525346524f50ULL /* "PROFSTR1" little-endian */
#define PROF_STREAM_VERSION 2
#define PROF_MAX_FRAMES 128
#define PROF_THREAD_NAME_LEN 16

enum prof_record_type {
  PROF_REC_START = 1,
  PROF_REC_SAMPLE = 2,
  PROF_REC_THREAD = 3,
  PROF_REC_MODULE = 4,
  PROF_REC_STATS = 5,
  PROF_REC_END = 6,
  PROF_REC_IDLE = 7,
  PROF_REC_TRACE = 8,
  PROF_REC_RSS = 9,
  PROF_REC_NOTICE = 10,
  PROF_REC_ASYNC = 11,
  PROF_REC_HEAP_BUCKET = 16,
  PROF_REC_HEAP_COUNTS = 17,
  PROF_REC_HEAP_STATS = 18,
  PROF_REC_CONTENTION_BUCKET = 19,
  PROF_REC_CONTENTION_COUNTS = 20,
  PROF_REC_CONTENTION_STATS = 21,
  PROF_REC_LOCK_WAIT = 22,
  PROF_REC_BUCKET_ASYNC = 23,
};

// Every record starts with this; size counts the header and is a multiple of 8.
struct prof_record_header {
  uint32_t type;
  uint32_t size;
};

struct prof_start_record {
  struct prof_record_header header;
  uint32_t pid;
  uint32_t hz;
  uint64_t realtime_ns;   // CLOCK_REALTIME at start: pprof time_nanos
  uint64_t monotonic_ns;  // CLOCK_MONOTONIC at start: origin of sample timestamps
};

// frames[0] is the interrupted pc; later frames are return addresses.
struct prof_sample_record {
  struct prof_record_header header;
  uint32_t tid;
  uint32_t weight;        // timer periods this sample stands for (1 + overruns)
  uint64_t monotonic_ns;
  uint64_t thread_cpu_ns; // the thread's CPU clock, when tracing; else 0
  uint32_t depth;
  uint32_t truncated;     // 1 when the stack was deeper than PROF_MAX_FRAMES
  uint64_t frames[PROF_MAX_FRAMES];
};

struct prof_thread_record {
  struct prof_record_header header;
  uint32_t tid;
  uint32_t reserved;
  char name[PROF_THREAD_NAME_LEN];
};

// One executable segment of a loaded ELF object; followed by build_id_len bytes of
// build id and path_len bytes of path (no terminator), padded to 8 bytes.
struct prof_module_record {
  struct prof_record_header header;
  uint64_t start;
  uint64_t limit;
  uint64_t file_offset;
  uint64_t load_bias;     // pc - load_bias is the address inside the ELF file
  uint32_t build_id_len;
  uint32_t path_len;
};

// Wall-clock mode: a thread that has not run since the previous tick is not
// interrupted (that would wake it); this record says it is still where it was.
struct prof_idle_record {
  struct prof_record_header header;
  uint32_t tid;
  uint32_t reserved;
  uint64_t monotonic_ns;
  uint64_t thread_cpu_ns;
};

enum prof_trace_kind {
  PROF_TRACE_BEGIN = 1,       // a span opens on this thread
  PROF_TRACE_END = 2,         // the innermost open span closes
  PROF_TRACE_INSTANT = 3,
  PROF_TRACE_COUNTER = 4,     // value is the counter's new value
  PROF_TRACE_FLOW_START = 5,  // id links it to the FLOW_END with the same id
  PROF_TRACE_FLOW_END = 6,
};

#define PROF_TRACE_NAME_MAX 256

// An event from the ProfTrace library; followed by name_len bytes of name, padded.
struct prof_trace_record {
  struct prof_record_header header;
  uint32_t tid;
  uint32_t kind;
  uint64_t monotonic_ns;
  int64_t value;
  uint64_t id;
  uint32_t name_len;
  uint32_t reserved;
};

// The process's resident set size at a flush, when tracing.
struct prof_rss_record {
  struct prof_record_header header;
  uint64_t monotonic_ns;
  uint64_t rss_bytes;
};

// Cumulative counters; the last one written wins.
struct prof_stats_record {
  struct prof_record_header header;
  uint64_t samples;          // samples written to the stream
  uint64_t dropped;          // samples lost: buffer full or handler re-entered
  uint64_t handler_ns;       // time spent in the handler, all samples
  uint64_t frames;           // frames captured, all samples
  uint64_t foreign_signals;  // SIGPROFs not sent by our timers, ignored
  uint64_t threads;          // threads given a timer
  uint64_t taken;            // our signals that arrived while sampling: samples + dropped
};

enum prof_notice_code {
  // The program installed its own handler for the sampling signal; the agent kept
  // its own and passes the program the signals its timers did not send.
  // values[0]: the signal.
  PROF_NOTICE_HANDLER_REPLACED = 1,
  // A thread blocks the sampling signal, so it is not sampled. tid and name are the
  // thread's; values[0]: the signal, values[1]: the thread's CPU time (ns) so far.
  PROF_NOTICE_SIGNAL_BLOCKED = 2,
  // libunwind (libunwind.so.8) could not be loaded: the agent records nothing.
  PROF_NOTICE_UNWINDER_UNAVAILABLE = 3,
  // PROF_UNWIND_CHECK with --unwind hybrid, cumulative, the last one wins:
  // values[0]: stacks unwound both ways, values[1]: stacks that differed from libunwind's.
  PROF_NOTICE_UNWIND_CHECK = 4,
  // Sent with code 4: values[0]: frames the hybrid unwinder took from frame
  // pointers, values[1]: all the frames it captured.
  PROF_NOTICE_UNWIND_CHECK_FRAMES = 5,
};

// Something the program did that affects the profile; prof turns it into a warning.
struct prof_notice_record {
  struct prof_record_header header;
  uint32_t code;
  uint32_t tid;
  uint64_t values[2];
  char name[PROF_THREAD_NAME_LEN];
};

// What a SAMPLE's frames need to go on with the Swift async functions awaiting
// them: async context candidates (the frame they belong to, which must be an
// async partial function for prof to use them) and the chain of resume functions
// read from the first occurrence of each candidate's value.
enum prof_async_kind {
  PROF_ASYNC_REGISTER = 1,    // r14 at this frame, from here outward until the next REGISTER
  PROF_ASYNC_FRAME_SLOT = 2,  // the word below this frame's frame pointer
  PROF_ASYNC_RESUME = 3,      // the next context's resume function (its parent's resume point)
  PROF_ASYNC_END = 4,         // the chain reached a context without a parent: the task's entry
  PROF_ASYNC_TASK = 5,        // the running task's resume context (the one its job resumed), at the frame the executor called
  PROF_ASYNC_RESUMED = 6,     // after a TASK candidate: the function its job resumed (the task's resume function)
};

struct prof_async_entry {
  uint32_t frame;  // index into the SAMPLE's frames
  uint32_t kind;
  uint64_t value;  // the context's address, or the resume function's
};

#define PROF_ASYNC_MAX_ENTRIES 64

// Written right after the SAMPLE of the same tid and monotonic_ns, when
// PROF_ASYNC_STACKS is on and a candidate led to a readable context.
struct prof_async_record {
  struct prof_record_header header;
  uint32_t tid;
  uint32_t count;
  uint64_t monotonic_ns;  // the SAMPLE's
  struct prof_async_entry entries[PROF_ASYNC_MAX_ENTRIES];
};

// The async candidates of one bucket (heap, contention), just before its
// definition: the entries of prof_async_record, with each context's address
// replaced by its place among the bucket's distinct contexts (1, 2, ...), so that
// a bucket is one stack and chain whichever task ran it.
struct prof_bucket_async_record {
  struct prof_record_header header;
  uint32_t bucket_type;  // PROF_REC_HEAP_BUCKET or PROF_REC_CONTENTION_BUCKET
  uint32_t bucket;       // the id it defines next
  uint32_t count;
  uint32_t reserved;
  struct prof_async_entry entries[PROF_ASYNC_MAX_ENTRIES];
};

// Heap mode: one stack that sampled allocations came from, sent once, before any
// counts of it. frames[0] is a return address inside the agent's allocation hook.
struct prof_heap_bucket_record {
  struct prof_record_header header;
  uint32_t id;            // dense, from 0, in order of first use
  uint32_t depth;
  uint32_t truncated;     // 1 when the stack was deeper than PROF_MAX_FRAMES
  uint32_t reserved;
  uint64_t frames[PROF_MAX_FRAMES];
};

// The estimated_* fields count objects in these units: 1/65536 of an object.
#define PROF_HEAP_ESTIMATE_ONE 65536u

// Cumulative counts of one bucket; the last one wins. The first four count the
// sampled blocks; the estimated_* ones unbias each block by its own size when it
// is recorded: a block of s bytes, sampled with probability p = 1 - exp(-s/rate),
// stands for 1/p blocks and s/p bytes (exactly 1 and s at rate 1).
struct prof_heap_count {
  uint32_t bucket;
  uint32_t reserved;
  uint64_t alloc_objects;
  uint64_t alloc_bytes;   // requested sizes
  uint64_t free_objects;
  uint64_t free_bytes;
  uint64_t estimated_alloc_objects;  // in PROF_HEAP_ESTIMATE_ONE units
  uint64_t estimated_alloc_bytes;
  uint64_t estimated_free_objects;   // in PROF_HEAP_ESTIMATE_ONE units
  uint64_t estimated_free_bytes;
};

#define PROF_HEAP_COUNTS_MAX 512

// The buckets whose counts changed since the previous flush.
struct prof_heap_counts_record {
  struct prof_record_header header;
  uint32_t count;
  uint32_t reserved;
  struct prof_heap_count counts[PROF_HEAP_COUNTS_MAX];
};

// Exact totals of every allocation (sampled or not), cumulative; the last one wins.
// Each thread publishes its share every 1024 calls or 64 KiB of change, and when it
// exits: at any moment a live thread may hold back that much.
struct prof_heap_stats_record {
  struct prof_record_header header;
  uint64_t sample_rate;      // mean bytes between samples; 1: every allocation
  uint64_t allocations;
  uint64_t allocated_bytes;  // requested sizes
  uint64_t frees;            // frees of non-NULL pointers, realloc's included
  int64_t in_use_bytes;      // chunk bytes glibc holds for live blocks (header included)
  uint64_t peak_in_use_bytes;
  uint64_t peak_monotonic_ns;
  uint64_t lost_samples;     // sampled allocations left out: stack table full
};

// Contention (block and mutex mode): CONTENTION_BUCKET records have the layout of
// prof_heap_bucket_record: one stack that waited (block) or released a lock others
// waited for (mutex), sent once, before any counts of it.

// The contentions fields count in these units: 1/65536 of an event (Go's unbiased
// counts are fractional).
#define PROF_CONTENTION_ONE 65536u

// Cumulative, unbiased counts of one bucket; the last one wins. Block: waits on
// this stack. Mutex: waits charged to this stack's releases.
struct prof_contention_count {
  uint32_t bucket;
  uint32_t reserved;
  uint64_t block_contentions;  // in PROF_CONTENTION_ONE units
  uint64_t block_delay_ns;
  uint64_t mutex_contentions;  // in PROF_CONTENTION_ONE units
  uint64_t mutex_delay_ns;
};

#define PROF_CONTENTION_COUNTS_MAX 1024

// The buckets whose counts changed since the previous flush.
struct prof_contention_counts_record {
  struct prof_record_header header;
  uint32_t count;
  uint32_t reserved;
  struct prof_contention_count counts[PROF_CONTENTION_COUNTS_MAX];
};

// Exact totals over every wait, sampled or not, cumulative; the last one wins.
struct prof_contention_stats_record {
  struct prof_record_header header;
  uint64_t block_rate_ns;    // PROF_BLOCK_RATE; 0: block mode off
  uint64_t mutex_fraction;   // PROF_MUTEX_FRACTION; 0: mutex mode off
  uint64_t waits;            // acquisitions that blocked
  uint64_t wait_ns;          // their total delay
  uint64_t lost;             // sampled waits left out: stack or lock table full
};

// Trace mode (PROF_LOCK_WAIT_NS): one wait for a lock that lasted at least that long,
// written when the waiter got the lock (or gave up).
struct prof_lock_wait_record {
  struct prof_record_header header;
  uint32_t tid;           // the waiter
  uint32_t holder_tid;    // who held the lock when the wait began; 0: unknown
  uint64_t lock;          // the lock's address
  uint64_t start_ns;      // CLOCK_MONOTONIC
  uint64_t end_ns;
};

enum prof_end_reason {
  PROF_END_EXIT = 1,      // the target is exiting (exit or _exit)
  PROF_END_DURATION = 2,  // the --duration elapsed; the target runs on
};

// The last record: everything sampled has been written.
struct prof_end_record {
  struct prof_record_header header;
  uint32_t reason;
  uint32_t reserved;
};

#endif
