#include "bananas/job.h"

#include <array>

namespace bananas {
namespace {

constexpr std::array<std::string_view, kPriorityCount> kPriorityNames = {"high", "normal", "low"};
constexpr std::array<std::string_view, 7> kStateNames = {
    "pending", "scheduled", "active", "retrying", "completed", "failed", "cancelled"};

bool IsNameChar(char c, bool allow_colon) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-' || (allow_colon && c == ':');
}

Status CheckChars(std::string_view value, std::string_view field, size_t max_len,
                  bool allow_colon, std::string_view pattern) {
  if (value.empty() || value.size() > max_len) {
    return Status::InvalidArgument(std::string(field) + ": must be 1 to " +
                                   std::to_string(max_len) + " characters of " +
                                   std::string(pattern));
  }
  for (char c : value) {
    if (!IsNameChar(c, allow_colon)) {
      return Status::InvalidArgument(std::string(field) + ": character '" + std::string(1, c) +
                                     "' not allowed; must match " + std::string(pattern));
    }
  }
  return Status::Ok();
}

}  // namespace

std::string_view PriorityName(Priority priority) {
  return kPriorityNames[static_cast<int>(priority)];
}

Result<Priority> ParsePriority(std::string_view name) {
  for (int i = 0; i < kPriorityCount; ++i) {
    if (kPriorityNames[i] == name) return static_cast<Priority>(i);
  }
  return Status::InvalidArgument("priority: must be high, normal or low, not \"" +
                                 std::string(name) + "\"");
}

std::string_view JobStateName(JobState state) { return kStateNames[static_cast<int>(state)]; }

Result<JobState> ParseJobState(std::string_view name) {
  for (size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) return static_cast<JobState>(i);
  }
  return Status::InvalidArgument("state: unknown job state \"" + std::string(name) + "\"");
}

Status ValidateJobName(std::string_view name) {
  return CheckChars(name, "name", 128, true, "[A-Za-z0-9_.:-]");
}

Status ValidateQueueName(std::string_view queue) {
  return CheckChars(queue, "queue", 64, false, "[A-Za-z0-9_.-]");
}

Status ValidateJobSpec(const JobSpec& spec) {
  BANANAS_RETURN_IF_ERROR(ValidateJobName(spec.name));
  BANANAS_RETURN_IF_ERROR(ValidateQueueName(spec.queue));
  if (static_cast<int>(spec.priority) < 0 || static_cast<int>(spec.priority) >= kPriorityCount) {
    return Status::InvalidArgument("priority: must be high, normal or low");
  }
  if (spec.max_retries < 0 || spec.max_retries > 100) {
    return Status::InvalidArgument("max_retries: must be between 0 and 100");
  }
  if (spec.timeout_ms < 0 || spec.timeout_ms > kMaxJobTimeoutMs) {
    return Status::InvalidArgument("timeout_ms: must be from 0 to " +
                                   std::to_string(kMaxJobTimeoutMs) + " (30 days)");
  }
  if (spec.run_at_unix_ms < 0) return Status::InvalidArgument("run_at: must not be negative");
  if (spec.unique_ttl_ms < 0) {
    return Status::InvalidArgument("unique_ttl_ms: must not be negative");
  }
  if (!spec.unique_key.empty() && spec.unique_key.size() > 256) {
    return Status::InvalidArgument("unique_key: at most 256 bytes");
  }
  if (spec.description.size() > 1024) {
    return Status::InvalidArgument("description: at most 1024 bytes");
  }
  return Status::Ok();
}

}  // namespace bananas
