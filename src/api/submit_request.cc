#include "api/submit_request.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "api/base64.h"
#include "api/time_format.h"
#include "base/job_id.h"

namespace bananas::api {
namespace {

std::string TypeName(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      return "a number";
    case boost::json::kind::string:
      return "a string";
    case boost::json::kind::array:
      return "an array";
    case boost::json::kind::object:
      return "an object";
  }
  return "?";
}

// An integer field in [min, max]: a JSON number without fraction or exponent part.
ApiResult<int64_t> Integer(const boost::json::value& v, const std::string& field, int64_t min,
                           int64_t max) {
  std::string range =
      "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
  int64_t n = 0;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64()) {
    return ApiError::InvalidField(field, range);  // beyond int64: beyond every max here
  } else {
    return ApiError::InvalidField(field, range + ", not " + TypeName(v));
  }
  if (n < min || n > max) return ApiError::InvalidField(field, range);
  return n;
}

ApiResult<std::string> String(const boost::json::value& v, const std::string& field) {
  if (!v.is_string()) return ApiError::InvalidField(field, "must be a string, not " + TypeName(v));
  return std::string(v.get_string());
}

// The part of a validator's message after "<field>: " (ValidateJobName says "name: ...").
std::string AfterField(const std::string& message) {
  size_t colon = message.find(": ");
  return colon == std::string::npos ? message : message.substr(colon + 2);
}

}  // namespace

ApiResult<boost::json::value> ParseJsonBody(std::string_view body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec) {
    return ApiError{400, "invalid_json", "the body is not valid JSON: " + ec.message(), {}};
  }
  return v;
}

ApiResult<JobSpec> ParseJobSpec(const boost::json::value& body, const SubmitDefaults& defaults,
                                int64_t now_unix_ms, std::string_view field_prefix) {
  auto field = [&](std::string_view name) { return std::string(field_prefix) + std::string(name); };
  if (!body.is_object()) {
    std::string where = field_prefix.empty()
                            ? "the body"
                            : std::string(field_prefix.substr(0, field_prefix.size() - 1));
    return ApiError{400, "invalid_field", "a job must be a JSON object, not " + TypeName(body),
                    field_prefix.empty() ? std::string() : where};
  }
  const boost::json::object& o = body.get_object();
  JobSpec spec;
  spec.max_retries = defaults.max_retries;
  bool has_name = false, has_payload = false, has_run_at = false, has_delay = false,
       has_unique_ttl = false;
  for (const auto& [key_view, value] : o) {
    std::string_view key(key_view.data(), key_view.size());
    std::string f = field(key);
    if (key == "name") {
      auto s = String(value, f);
      if (!s.ok()) return s.error();
      Status valid = ValidateJobName(*s);
      if (!valid.ok()) return ApiError::InvalidField(f, AfterField(valid.message()));
      spec.name = std::move(*s);
      has_name = true;
    } else if (key == "payload" || key == "payload_base64") {
      if (has_payload) {
        return ApiError::InvalidField(f, "give payload or payload_base64, not both");
      }
      has_payload = true;
      if (key == "payload") {
        spec.payload = boost::json::serialize(value);
      } else {
        auto s = String(value, f);
        if (!s.ok()) return s.error();
        auto decoded = DecodeBase64(*s);
        if (!decoded) return ApiError::InvalidField(f, decoded.status().message());
        spec.payload = std::move(*decoded);
      }
    } else if (key == "priority") {
      auto s = String(value, f);
      if (!s.ok()) return s.error();
      auto priority = ParsePriority(*s);
      if (!priority) return ApiError::InvalidField(f, "must be high, normal or low");
      spec.priority = *priority;
    } else if (key == "queue") {
      auto s = String(value, f);
      if (!s.ok()) return s.error();
      Status valid = ValidateQueueName(*s);
      if (!valid.ok()) return ApiError::InvalidField(f, AfterField(valid.message()));
      spec.queue = std::move(*s);
    } else if (key == "max_retries") {
      auto n = Integer(value, f, 0, 100);
      if (!n.ok()) return n.error();
      spec.max_retries = static_cast<int>(*n);
    } else if (key == "timeout_ms") {
      auto n = Integer(value, f, 0, kMaxTimeoutMs);
      if (!n.ok()) return n.error();
      spec.timeout_ms = *n;
    } else if (key == "run_at") {
      if (has_delay) return ApiError::InvalidField(f, "give run_at or delay_ms, not both");
      has_run_at = true;
      auto s = String(value, f);
      if (!s.ok()) return s.error();
      auto at = ParseRfc3339(*s);
      if (!at) return ApiError::InvalidField(f, at.status().message());
      // A time in the past means now: the job is pending at once.
      spec.run_at_unix_ms = *at;
    } else if (key == "delay_ms") {
      if (has_run_at) return ApiError::InvalidField(f, "give run_at or delay_ms, not both");
      has_delay = true;
      auto n = Integer(value, f, 0, kMaxDelayMs);
      if (!n.ok()) return n.error();
      spec.run_at_unix_ms = *n > 0 ? now_unix_ms + *n : 0;
    } else if (key == "unique_key") {
      auto s = String(value, f);
      if (!s.ok()) return s.error();
      if (s->empty() || s->size() > kMaxUniqueKeyBytes) {
        return ApiError::InvalidField(
            f, "must be 1 to " + std::to_string(kMaxUniqueKeyBytes) + " bytes");
      }
      spec.unique_key = std::move(*s);
    } else if (key == "unique_ttl_ms") {
      auto n = Integer(value, f, 1, kMaxUniqueTtlMs);
      if (!n.ok()) return n.error();
      spec.unique_ttl_ms = *n;
      has_unique_ttl = true;
    } else if (key == "description") {
      auto s = String(value, f);
      if (!s.ok()) return s.error();
      if (s->size() > kMaxDescriptionBytes) {
        return ApiError::InvalidField(
            f, "must be at most " + std::to_string(kMaxDescriptionBytes) + " bytes");
      }
      spec.description = std::move(*s);
    } else {
      return ApiError::UnknownField(f);
    }
  }
  if (!has_name) return ApiError::MissingField(field("name"));
  if (has_unique_ttl && spec.unique_key.empty()) {
    return ApiError::InvalidField(field("unique_ttl_ms"), "needs unique_key");
  }
  // The broker's own check, so that nothing it would refuse gets past this point.
  Status valid = ValidateJobSpec(spec);
  if (!valid.ok()) {
    std::string message = valid.message();
    size_t colon = message.find(": ");
    return ApiError::InvalidField(field(colon == std::string::npos ? "" : message.substr(0, colon)),
                                  AfterField(message));
  }
  return spec;
}

ApiResult<std::vector<JobSpec>> ParseBatch(const boost::json::value& body,
                                           const SubmitDefaults& defaults, int64_t now_unix_ms) {
  if (!body.is_object()) {
    return ApiError{400, "invalid_field", "the body must be a JSON object {\"jobs\": [...]}", {}};
  }
  const boost::json::object& o = body.get_object();
  for (const auto& [key, value] : o) {
    if (key != "jobs") return ApiError::UnknownField(std::string(key));
  }
  const boost::json::value* jobs = o.if_contains("jobs");
  if (jobs == nullptr) return ApiError::MissingField("jobs");
  if (!jobs->is_array()) {
    return ApiError::InvalidField("jobs", "must be an array, not " + TypeName(*jobs));
  }
  const boost::json::array& array = jobs->get_array();
  if (array.empty() || array.size() > kMaxBatchJobs) {
    return ApiError::InvalidField("jobs", "must hold 1 to " + std::to_string(kMaxBatchJobs) +
                                              " jobs, not " + std::to_string(array.size()));
  }
  std::vector<JobSpec> specs;
  specs.reserve(array.size());
  for (size_t i = 0; i < array.size(); ++i) {
    auto spec = ParseJobSpec(array[i], defaults, now_unix_ms, "jobs[" + std::to_string(i) + "].");
    if (!spec.ok()) return spec.error();
    specs.push_back(std::move(*spec));
  }
  return specs;
}

ApiResult<int64_t> ParseQueryInteger(std::string_view field, std::string_view text, int64_t min,
                                     int64_t max) {
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr != text.data() + text.size() || n < min || n > max) {
    return ApiError::InvalidField(
        std::string(field),
        "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return n;
}

ApiResult<std::string> ParseJobId(std::string_view text) {
  std::string_view queue = QueueOfJobId(text);
  // The queue part is also checked: it becomes a hash tag in key names, and a brace or a
  // colon from a hand-made id must not reach one.
  if (queue.empty() || !ValidateQueueName(queue).ok()) {
    return ApiError::NotFound("job " + std::string(text) + ": not a job id");
  }
  return std::string(text);
}

}  // namespace bananas::api
