// The cron schedule model (SPEC §5): a schedule's definition (ScheduleSpec) and, as stored,
// its state (Schedule). Plain values shared by the store (src/queue), the scheduler, the API
// and the admin CLI; I/O-free.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bananas/job.h"
#include "bananas/status.h"

namespace bananas::cron {

// What happens to occurrences that passed while no scheduler ran (docs/DECISIONS.md).
// Persisted by name; do not rename.
enum class MissedPolicy {
  kOnce,  // run the oldest missed occurrence once, then continue after now (the default)
  kSkip,  // when more than one occurrence is due at once, run none; continue after now
  kAll,   // run every missed occurrence of the last kCatchUpWindowMs, oldest first
};
inline constexpr int64_t kCatchUpWindowMs = 3'600'000;  // MissedPolicy::kAll looks back 1 h

std::string_view MissedPolicyName(MissedPolicy policy);
Result<MissedPolicy> ParseMissedPolicy(std::string_view name);

// [A-Za-z0-9_.:-]{1,128}: it becomes part of keys and of the unique key of its jobs.
Status ValidateScheduleId(std::string_view id);

// What a user defines.
struct ScheduleSpec {
  std::string id;
  std::string cron;               // cron/cron.h's syntax
  std::string timezone = "UTC";   // IANA name
  MissedPolicy missed = MissedPolicy::kOnce;
  bool enabled = true;
  std::string source = "api";     // "api" or "config": where the definition came from
  // The job each occurrence submits. run_at and unique_key are the schedule's to set.
  JobSpec job;
};

// A schedule as stored: its definition and its state.
struct Schedule {
  ScheduleSpec spec;
  int64_t next_run_unix_ms = -1;  // -1: never (disabled, or the expression has no future)
  int64_t last_run_unix_ms = 0;   // the last occurrence (or trigger) that enqueued a job
  int64_t run_count = 0;          // jobs enqueued by occurrences and triggers
  std::string last_error;         // why the last occurrence did not run; "" when it did
  std::string last_job_id;
  bool paused = false;
  int64_t created_unix_ms = 0;
  int64_t updated_unix_ms = 0;
};

}  // namespace bananas::cron
