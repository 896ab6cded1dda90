// Decoding of a job hash (HGETALL's field/value list) into a bananas::Job.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bananas/job.h"
#include "bananas/status.h"

namespace bananas::queue {

// `fields` is HGETALL's reply as pairs. Corruption names the job id and the bad field.
Result<Job> DecodeJob(std::string_view id, const std::vector<std::pair<std::string, std::string>>& fields);

// The error history as stored by fail.lua / recover_expired.lua: a JSON array of
// {"attempt":n,"at":ms,"error":"..."}. A value that is not such an array yields Corruption.
Result<std::vector<JobError>> DecodeErrorHistory(std::string_view json);

}  // namespace bananas::queue
