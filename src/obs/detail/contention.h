// Contention records behind ProfiledMutex: the mutex and block profiles.
//
// Both are tables of (stack -> count, delay), bounded at kMaxStacks distinct stacks (further
// new stacks are counted as dropped), guarded by one std::mutex held only for the update.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "obs/detail/profile.h"

namespace bananas::obs::detail {

inline constexpr size_t kMaxContentionStacks = 16384;

enum class ContentionKind { kMutex, kBlock };

struct ContentionRecord {
  std::vector<uint64_t> pcs;  // return addresses minus one; profiler frames not yet trimmed
  double count = 0;           // already scaled by the sampling rule
  double delay_ns = 0;
};

// Called by ProfiledMutex with the delay of one event; applies the sampling rule and, when
// kept, captures the caller's stack.
void RecordMutexContention(int64_t delay_ns);
void RecordBlockContention(int64_t delay_ns);

std::vector<ContentionRecord> SnapshotContention(ContentionKind kind);
uint64_t DroppedContentionStacks(ContentionKind kind);
int MutexProfileFraction();

// Go's proto: contentions/count and delay/nanoseconds, period contentions/count (mutex: the
// fraction; block: 1). Profiler frames are trimmed by name.
Profile ContentionProfile(ContentionKind kind, Symbolizer& symbolizer);

// Go's ?debug=1 text: "--- mutex:" or "--- contention:", cycles/second (we count in ns, so
// it is 1e9), then "<delay> <count> @ <pcs>" and the stack record, by delay descending.
std::string FormatContentionText(ContentionKind kind, Symbolizer& symbolizer);

}  // namespace bananas::obs::detail
