// The job (and the queue, the worker) as the HTTP API and `bananas job --json` show it (SPEC §6):
// times in RFC 3339 with milliseconds, payload and result echoed as JSON when they parse as JSON,
// else as a string (or, when the bytes are not UTF-8, null plus payload_base64 / result_base64).
//
// Pure functions; thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/utf8.h"
#include "bananas/inspector.h"
#include "bananas/job.h"

namespace bananas::api {

boost::json::object JobToJson(const Job& job);
// The job a successful enqueue.lua call stored for `spec` at `now_unix_ms` (the broker's
// clock), built without reading it back. If you change what enqueue.lua writes, change this.
Job JobFromSpec(const JobSpec& spec, const std::string& id, int64_t now_unix_ms);
// {"name", "paused", "pending": {"high", "normal", "low"}, "scheduled", "active", "retrying",
//  "dead"}
boost::json::object QueueToJson(const QueueInfo& queue);
// {"id", "host", "pid", "queues", "concurrency", "active", "started_at", "last_heartbeat"}
boost::json::object WorkerToJson(const WorkerInfo& worker);

// An opaque byte string as JSON: null when empty, the parsed value when it is a JSON text,
// a JSON string when it is UTF-8, else null with `*base64_field` set to its base64.
// Note: a JSON payload is echoed as parsed, so insignificant whitespace is not kept.
boost::json::value BytesToJson(std::string_view bytes, boost::json::object& into,
                               std::string_view base64_field);

}  // namespace bananas::api
