// Heap and allocation profiles from jemalloc's own sampling profiler.
//
// Why jemalloc (pprof-design.md Q2): Debian's jemalloc 5.3 is built with --enable-prof and
// records, per sampled stack, both live and cumulative objects and bytes, which are exactly
// Go's inuse_* and alloc_*; it unwinds with libgcc like we do; and it is 2-3x faster than
// glibc malloc here, which pays for the sampling. Sampling is on from the first allocation
// because the binary defines `malloc_conf` (heap_profile.cc); MALLOC_CONF still overrides it.
//
// Flow: mallctl("prof.dump") writes a text dump into a memfd; ParseJemallocDump reads it;
// HeapProfileFromDump scales the raw sampled counts with Go's estimator and strips jemalloc's
// own frames. mallctl is looked up with dlsym, so the library needs no link dependency on
// jemalloc and sanitizer builds (which must not link it) get a clear Unavailable instead.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bananas/status.h"
#include "obs/detail/profile.h"

namespace bananas::obs::detail {

struct HeapRecord {
  std::vector<uint64_t> pcs;  // return addresses minus one, leaf first, jemalloc frames included
  int64_t live_objects = 0;   // raw sampled counts, not scaled
  int64_t live_bytes = 0;
  int64_t alloc_objects = 0;  // cumulative since start (prof_accum)
  int64_t alloc_bytes = 0;
};

struct HeapDump {
  int64_t sample_period = 0;  // bytes between samples on average (2^lg_prof_sample)
  std::vector<HeapRecord> records;
};

// Parses jemalloc's `prof.dump` text (first line "heap_v2/<period>"). Corruption names the
// line that does not parse.
[[nodiscard]] Result<HeapDump> ParseJemallocDump(std::string_view text);

// Dumps the live process's heap samples. Unavailable when jemalloc is not linked (sanitizer
// builds, BANANAS_JEMALLOC=OFF) or its profiling is off; Internal if the dump fails.
[[nodiscard]] Result<HeapDump> DumpJemallocHeap();

// Go's heap profile: sample types alloc_objects/count, alloc_space/bytes, inuse_objects/count,
// inuse_space/bytes, period space/bytes = sample_period; each record scaled by Go's
// estimator 1/(1-exp(-avg_size/period)), separately for live and cumulative values.
// `allocs` selects default_sample_type alloc_space, as /debug/pprof/allocs does.
// Frames inside libjemalloc are stripped from each stack.
Profile HeapProfileFromDump(const HeapDump& dump, Symbolizer& symbolizer, bool allocs);

// Go's ?debug=1 heap text ("heap profile: N: B [N: B] @ heap/2*period", then one record per
// stack with raw counts), which pprof can also read.
std::string FormatHeapText(const HeapDump& dump, Symbolizer& symbolizer);

// Go's estimator: the scale factor for a record of `objects` objects totalling `bytes`.
double HeapScale(int64_t objects, int64_t bytes, int64_t period);

// The jemalloc options compiled into every binary that links the heap profiler.
const char* BuiltInMallocConf();

}  // namespace bananas::obs::detail
