// Job ids: unique, and sorted as strings in creation order.
//
// Layout: 26 characters of ULID (48-bit unix ms, then 80 bits that are random at each new
// millisecond and incremented within one, Crockford base32), then '-', then the job's queue.
// The queue is part of the id because every key of a job lives under its queue's hash tag
// ({queue}); a client holding only an id must know which slot to look in. See DECISIONS.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bananas {

inline constexpr size_t kUlidLength = 26;

// Thread-safe; monotonic within a process even when the clock stands still or steps back.
std::string NewJobId(std::string_view queue, int64_t now_unix_ms);

// The queue encoded in `id`, or empty if `id` is not a job id.
std::string_view QueueOfJobId(std::string_view id);

// The creation time encoded in the id's ULID prefix; -1 if it is not a job id.
int64_t TimeOfJobId(std::string_view id);

}  // namespace bananas
