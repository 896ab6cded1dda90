// Validation of the submit bodies of POST /api/v1/jobs and POST /api/v1/jobs/batch (SPEC §6),
// and of the query parameters the routes take. I/O-free, so the fuzzer and unit tests drive
// it without sockets.
//
// Every field is checked and the first bad one is named in the ApiError ("priority",
// "jobs[2].queue"); unknown fields are refused rather than ignored, so a typo ("priorty")
// is an error instead of a silently defaulted job. A batch is valid only when every job is:
// nothing is written for a batch with one bad job.
//
// Pure functions; thread-safe.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_error.h"
#include "bananas/job.h"

namespace bananas::api {

// Limits of a submission. Values are the API's; if you change one, change docs/API.md and
// the OpenAPI document (openapi.cc).
inline constexpr int64_t kMaxTimeoutMs = kMaxJobTimeoutMs;  // 30 days
inline constexpr int64_t kMaxDelayMs = 366LL * 24 * 3'600'000;   // a year and a day
inline constexpr int64_t kMaxUniqueTtlMs = 366LL * 24 * 3'600'000;
inline constexpr size_t kMaxUniqueKeyBytes = 256;
inline constexpr size_t kMaxDescriptionBytes = 1024;
// One batch is one script call per queue: bounded so that one request cannot hold Redis
// for long (a 1,000-job enqueue.lua call takes a few milliseconds).
inline constexpr size_t kMaxBatchJobs = 1000;
inline constexpr int64_t kMaxWaitMs = 60'000;

struct SubmitDefaults {
  int max_retries = 3;  // MAX_RETRIES
};

// Parses a JSON text; invalid_json (400) names no field, with the parser's message and offset.
ApiResult<boost::json::value> ParseJsonBody(std::string_view body);

// One job of a submit body. `field_prefix` ("" or "jobs[3].") prefixes field names in errors.
// `now_unix_ms` turns delay_ms into a run time.
ApiResult<JobSpec> ParseJobSpec(const boost::json::value& body, const SubmitDefaults& defaults,
                                int64_t now_unix_ms, std::string_view field_prefix = {});

// {"jobs": [ ... ]}: 1..kMaxBatchJobs jobs, every one valid.
ApiResult<std::vector<JobSpec>> ParseBatch(const boost::json::value& body,
                                           const SubmitDefaults& defaults, int64_t now_unix_ms);

// A decimal integer query parameter in [min, max]; `text` is the raw value.
ApiResult<int64_t> ParseQueryInteger(std::string_view field, std::string_view text, int64_t min,
                                     int64_t max);

// A job id as it appears in a path: NotFound (404) for text that is not a job id, so that
// "no such job" and "not even an id" answer the same.
ApiResult<std::string> ParseJobId(std::string_view text);

}  // namespace bananas::api
