// Cron schedules as the HTTP API and `bananas schedules --json` read and show them (SPEC §6):
//   {"id", "cron", "timezone", "missed", "enabled", "job": {<a POST /api/v1/jobs body>}}
// and, in answers, the state: "next_run", "last_run" (RFC 3339 or null), "run_count",
// "last_error", "last_job_id", "paused", "source", "created_at", "updated_at".
//
// The job is validated by the submit-body parser (submit_request.h) under the field prefix
// "job."; run_at, delay_ms, unique_key and unique_ttl_ms are refused there, since each
// occurrence sets its own run time and unique key.
//
// Pure functions (they read zone files through cron/time_zone.h); thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string_view>

#include "api/api_error.h"
#include "api/submit_request.h"
#include "cron/schedule.h"

namespace bananas::api {

struct ParsedSchedule {
  cron::ScheduleSpec spec;
  // The first occurrence after now (-1: none), for a new schedule or a changed expression.
  int64_t next_run_unix_ms = -1;
};

// A POST (create) or PUT (replace) body. For a PUT, `path_id` is the id in the path: the body
// may leave "id" out, and when it gives one it must be the same.
ApiResult<ParsedSchedule> ParseScheduleBody(const boost::json::value& body,
                                            const SubmitDefaults& defaults, int64_t now_unix_ms,
                                            std::string_view path_id = {});

// A schedule id from a path: 404 for text that cannot be one.
ApiResult<std::string> ParseScheduleId(std::string_view text);

boost::json::object ScheduleToJson(const cron::Schedule& schedule);
// The job template as a submit body (payload echoed as JSON when it is JSON).
boost::json::object JobTemplateToJson(const JobSpec& job);

}  // namespace bananas::api
