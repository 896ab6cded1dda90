// The job model shared by the client, the worker and the inspector.
//
// A JobSpec is what a caller submits; a Job is what Redis holds, as read back. Times are
// unix milliseconds (UTC) in fields whose names end in _unix_ms; 0 means "not set".
// Plain values: no synchronisation of their own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bananas/status.h"

namespace bananas {

// Strict priorities within a routing key: every high job is taken before any normal job,
// every normal before any low. Persisted as names; do not rename.
enum class Priority : int { kHigh = 0, kNormal = 1, kLow = 2 };
inline constexpr int kPriorityCount = 3;

enum class JobState : int {
  kPending = 0,
  kScheduled = 1,
  kActive = 2,
  kRetrying = 3,
  kCompleted = 4,
  kFailed = 5,  // dead: in the DLQ after its last attempt
  kCancelled = 6,
};

std::string_view PriorityName(Priority priority);
Result<Priority> ParsePriority(std::string_view name);
std::string_view JobStateName(JobState state);
Result<JobState> ParseJobState(std::string_view name);

// What a caller submits. Defaults are those of SPEC §6.
struct JobSpec {
  // Handler type, [A-Za-z0-9_.:-]{1,128}. Required.
  std::string name;
  // Opaque bytes; JSON by convention.
  std::string payload;
  Priority priority = Priority::kNormal;
  // Routing key, [A-Za-z0-9_.-]{1,64}.
  std::string queue = "default";
  // Retries after the first attempt: the job runs at most max_retries + 1 times. 0..100.
  int max_retries = 3;
  // Per-job run timeout; 0 means the worker's JOB_TIMEOUT.
  int64_t timeout_ms = 0;
  // When set (> now), the job is scheduled rather than pending.
  int64_t run_at_unix_ms = 0;
  // Idempotency: while a job holding this key lives (and for unique_ttl_ms), a second
  // submit with the same key returns the first job instead of writing a new one.
  std::string unique_key;
  int64_t unique_ttl_ms = 0;
  std::string description;
};

// One entry of a job's error history, oldest first.
struct JobError {
  int attempt = 0;
  int64_t at_unix_ms = 0;
  std::string message;
};

// A job as stored.
struct Job {
  std::string id;
  std::string name;
  std::string queue;
  Priority priority = Priority::kNormal;
  JobState state = JobState::kPending;
  std::string payload;
  std::string description;
  int attempts = 0;      // runs started, a run after lease recovery included
  int max_retries = 0;
  int recoveries = 0;    // times its lease expired and it was handed back
  int64_t timeout_ms = 0;
  int64_t created_unix_ms = 0;
  int64_t updated_unix_ms = 0;
  int64_t run_at_unix_ms = 0;
  int64_t started_unix_ms = 0;
  int64_t finished_unix_ms = 0;
  std::string unique_key;
  std::string error;     // the last error
  std::string result;
  bool cancel_requested = false;
  std::vector<JobError> errors;
};

// The longest per-job timeout accepted (30 days): beyond it a lost worker's job would wait
// longer than anyone watches for it.
inline constexpr int64_t kMaxJobTimeoutMs = 30LL * 24 * 3'600'000;

// Validation of submitted fields; the InvalidArgument message names the field.
Status ValidateJobName(std::string_view name);
Status ValidateQueueName(std::string_view queue);
Status ValidateJobSpec(const JobSpec& spec);

}  // namespace bananas
