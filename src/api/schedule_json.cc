#include "api/schedule_json.h"

#include "api/job_json.h"
#include "api/time_format.h"
#include "api/utf8.h"
#include "cron/cron.h"

namespace bananas::api {
namespace {

boost::json::value Time(int64_t unix_ms) {
  if (unix_ms <= 0) return nullptr;
  return boost::json::value(FormatRfc3339(unix_ms));
}

}  // namespace

ApiResult<std::string> ParseScheduleId(std::string_view text) {
  if (!cron::ValidateScheduleId(text).ok()) {
    return ApiError::NotFound("schedule " + ToValidUtf8(text) + ": not a schedule id");
  }
  return std::string(text);
}

ApiResult<ParsedSchedule> ParseScheduleBody(const boost::json::value& body,
                                            const SubmitDefaults& defaults, int64_t now_unix_ms,
                                            std::string_view path_id) {
  if (!body.is_object()) {
    return ApiError{400, "invalid_field", "a schedule must be a JSON object", {}};
  }
  ParsedSchedule out;
  cron::ScheduleSpec& spec = out.spec;
  bool has_id = false, has_cron = false, has_job = false;
  const boost::json::value* job = nullptr;
  for (const auto& [key_view, value] : body.get_object()) {
    std::string key(key_view);
    if (key == "id") {
      if (!value.is_string()) return ApiError::InvalidField(key, "must be a string");
      spec.id = std::string(value.get_string());
      Status valid = cron::ValidateScheduleId(spec.id);
      if (!valid.ok()) return ApiError::InvalidField(key, "must be 1 to 128 characters of [A-Za-z0-9_.:-]");
      if (!path_id.empty() && spec.id != path_id) {
        return ApiError::InvalidField(key, "differs from the id in the path");
      }
      has_id = true;
    } else if (key == "cron") {
      if (!value.is_string()) return ApiError::InvalidField(key, "must be a string");
      spec.cron = std::string(value.get_string());
      has_cron = true;
    } else if (key == "timezone") {
      if (!value.is_string()) return ApiError::InvalidField(key, "must be a string");
      spec.timezone = std::string(value.get_string());
    } else if (key == "missed") {
      if (!value.is_string()) return ApiError::InvalidField(key, "must be a string");
      auto missed = cron::ParseMissedPolicy(std::string(value.get_string()));
      if (!missed) return ApiError::InvalidField(key, "must be once, skip or all");
      spec.missed = *missed;
    } else if (key == "enabled") {
      if (!value.is_bool()) return ApiError::InvalidField(key, "must be true or false");
      spec.enabled = value.get_bool();
    } else if (key == "job") {
      job = &value;
      has_job = true;
    } else {
      return ApiError::UnknownField(key);
    }
  }
  if (!has_id) {
    if (path_id.empty()) return ApiError::MissingField("id");
    spec.id = std::string(path_id);
  }
  if (!has_cron) return ApiError::MissingField("cron");
  if (!has_job) return ApiError::MissingField("job");
  if (job->is_object()) {
    for (const char* field : {"run_at", "delay_ms", "unique_key", "unique_ttl_ms"}) {
      if (job->get_object().contains(field)) {
        return ApiError::InvalidField(std::string("job.") + field,
                                      "is set by the schedule for each occurrence");
      }
    }
  }
  auto parsed_job = ParseJobSpec(*job, defaults, now_unix_ms, "job.");
  if (!parsed_job.ok()) {
    ApiError error = parsed_job.error();
    if (error.field.empty()) error.field = "job";
    return error;
  }
  spec.job = std::move(*parsed_job);
  if (spec.timezone.empty()) spec.timezone = "UTC";
  auto cron = cron::CronSchedule::Parse(spec.cron, spec.timezone);
  if (!cron) {
    const std::string& message = cron.status().message();
    return ApiError::InvalidField(message.rfind("timezone", 0) == 0 ? "timezone" : "cron", message);
  }
  spec.cron = cron->expression();  // whitespace normalised
  out.next_run_unix_ms = spec.enabled ? cron->Next(now_unix_ms) : -1;
  return out;
}

boost::json::object JobTemplateToJson(const JobSpec& job) {
  boost::json::object o;
  o["name"] = ToValidUtf8(job.name);
  // Computed before o["payload"] is made: BytesToJson may insert payload_base64 into `o`.
  boost::json::value payload = BytesToJson(job.payload, o, "payload_base64");
  if (!o.contains("payload_base64")) o["payload"] = std::move(payload);
  o["priority"] = std::string(PriorityName(job.priority));
  o["queue"] = job.queue;
  o["max_retries"] = job.max_retries;
  if (job.timeout_ms > 0) o["timeout_ms"] = job.timeout_ms;
  if (!job.description.empty()) o["description"] = ToValidUtf8(job.description);
  return o;
}

boost::json::object ScheduleToJson(const cron::Schedule& s) {
  boost::json::object o;
  o["id"] = s.spec.id;
  o["cron"] = ToValidUtf8(s.spec.cron);
  o["timezone"] = ToValidUtf8(s.spec.timezone);
  o["missed"] = std::string(cron::MissedPolicyName(s.spec.missed));
  o["enabled"] = s.spec.enabled;
  o["job"] = JobTemplateToJson(s.spec.job);
  o["paused"] = s.paused;
  o["next_run"] = s.next_run_unix_ms >= 0 ? Time(s.next_run_unix_ms) : nullptr;
  o["last_run"] = Time(s.last_run_unix_ms);
  o["run_count"] = s.run_count;
  o["last_error"] = s.last_error.empty() ? boost::json::value(nullptr)
                                         : boost::json::value(ToValidUtf8(s.last_error));
  o["last_job_id"] = s.last_job_id.empty() ? boost::json::value(nullptr)
                                           : boost::json::value(s.last_job_id);
  o["source"] = s.spec.source;
  o["created_at"] = Time(s.created_unix_ms);
  o["updated_at"] = Time(s.updated_unix_ms);
  return o;
}

}  // namespace bananas::api
