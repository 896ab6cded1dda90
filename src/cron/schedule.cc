#include "cron/schedule.h"

#include <cctype>

namespace bananas::cron {

std::string_view MissedPolicyName(MissedPolicy policy) {
  switch (policy) {
    case MissedPolicy::kOnce:
      return "once";
    case MissedPolicy::kSkip:
      return "skip";
    case MissedPolicy::kAll:
      return "all";
  }
  return "once";
}

Result<MissedPolicy> ParseMissedPolicy(std::string_view name) {
  if (name == "once") return MissedPolicy::kOnce;
  if (name == "skip") return MissedPolicy::kSkip;
  if (name == "all") return MissedPolicy::kAll;
  return Status::InvalidArgument("missed: must be once, skip or all");
}

Status ValidateScheduleId(std::string_view id) {
  if (id.empty() || id.size() > 128) {
    return Status::InvalidArgument("id: must be 1 to 128 characters of [A-Za-z0-9_.:-]");
  }
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != ':' &&
        c != '-') {
      return Status::InvalidArgument("id: must be 1 to 128 characters of [A-Za-z0-9_.:-]");
    }
  }
  return Status::Ok();
}

}  // namespace bananas::cron
