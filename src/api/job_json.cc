#include "api/job_json.h"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include "api/base64.h"
#include "api/time_format.h"

namespace bananas::api {
namespace {

boost::json::value Time(int64_t unix_ms) {
  if (unix_ms <= 0) return nullptr;
  return boost::json::value(FormatRfc3339(unix_ms));
}

boost::json::value Text(std::string_view text) { return boost::json::value(ToValidUtf8(text)); }

boost::json::value TextOrNull(std::string_view text) {
  if (text.empty()) return nullptr;
  return Text(text);
}

}  // namespace

boost::json::value BytesToJson(std::string_view bytes, boost::json::object& into,
                               std::string_view base64_field) {
  if (bytes.empty()) return nullptr;
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(bytes, ec);
  if (!ec) return parsed;
  if (IsValidUtf8(bytes)) return boost::json::value(bytes);
  // Not UTF-8: the bytes as base64 (never a lossy repair of the payload itself).
  into[base64_field] = EncodeBase64(bytes);
  return nullptr;
}

Job JobFromSpec(const JobSpec& spec, const std::string& id, int64_t now_unix_ms) {
  Job job;
  job.id = id;
  job.name = spec.name;
  job.queue = spec.queue;
  job.priority = spec.priority;
  bool scheduled = spec.run_at_unix_ms > now_unix_ms;
  job.state = scheduled ? JobState::kScheduled : JobState::kPending;
  job.payload = spec.payload;
  job.description = spec.description;
  job.max_retries = spec.max_retries;
  job.timeout_ms = spec.timeout_ms;
  job.created_unix_ms = now_unix_ms;
  job.updated_unix_ms = now_unix_ms;
  job.run_at_unix_ms = scheduled ? spec.run_at_unix_ms : now_unix_ms;
  job.unique_key = spec.unique_key;
  return job;
}

boost::json::object JobToJson(const Job& job) {
  boost::json::object o;
  o.reserve(24);
  o["id"] = Text(job.id);
  o["name"] = Text(job.name);
  o["queue"] = Text(job.queue);
  o["priority"] = PriorityName(job.priority);
  o["state"] = JobStateName(job.state);
  o["attempts"] = job.attempts;
  o["max_retries"] = job.max_retries;
  // Computed first: BytesToJson may add a key to `o`, which would move the slot o[...] refers to.
  boost::json::value payload = BytesToJson(job.payload, o, "payload_base64");
  o["payload"] = std::move(payload);
  o["description"] = TextOrNull(job.description);
  o["timeout_ms"] = job.timeout_ms > 0 ? boost::json::value(job.timeout_ms) : nullptr;
  o["unique_key"] = TextOrNull(job.unique_key);
  o["created_at"] = Time(job.created_unix_ms);
  o["updated_at"] = Time(job.updated_unix_ms);
  o["run_at"] = Time(job.run_at_unix_ms);
  o["started_at"] = Time(job.started_unix_ms);
  o["finished_at"] = Time(job.finished_unix_ms);
  o["error"] = TextOrNull(job.error);
  boost::json::value result = BytesToJson(job.result, o, "result_base64");
  o["result"] = std::move(result);
  o["cancel_requested"] = job.cancel_requested;
  boost::json::array errors;
  for (const JobError& e : job.errors) {
    boost::json::object entry;
    entry["attempt"] = e.attempt;
    entry["at"] = Time(e.at_unix_ms);
    entry["error"] = Text(e.message);
    errors.push_back(std::move(entry));
  }
  o["errors"] = std::move(errors);
  return o;
}

boost::json::object QueueToJson(const QueueInfo& q) {
  boost::json::object pending;
  pending["high"] = q.pending[static_cast<size_t>(Priority::kHigh)];
  pending["normal"] = q.pending[static_cast<size_t>(Priority::kNormal)];
  pending["low"] = q.pending[static_cast<size_t>(Priority::kLow)];
  boost::json::object o;
  o["name"] = Text(q.name);
  o["paused"] = q.paused;
  o["pending"] = std::move(pending);
  o["scheduled"] = q.scheduled;
  o["active"] = q.active;
  o["retrying"] = q.retrying;
  o["dead"] = q.dead;
  return o;
}

boost::json::object WorkerToJson(const WorkerInfo& w) {
  boost::json::object o;
  o["id"] = Text(w.id);
  o["host"] = Text(w.host);
  o["pid"] = w.pid;
  boost::json::array queues;
  for (const std::string& q : w.queues) queues.emplace_back(Text(q));
  o["queues"] = std::move(queues);
  o["concurrency"] = w.concurrency;
  o["active"] = w.active;
  o["started_at"] =
      w.started_unix_ms > 0 ? boost::json::value(FormatRfc3339(w.started_unix_ms)) : nullptr;
  o["last_heartbeat"] = w.last_heartbeat_unix_ms > 0
                            ? boost::json::value(FormatRfc3339(w.last_heartbeat_unix_ms))
                            : nullptr;
  return o;
}

}  // namespace bananas::api
