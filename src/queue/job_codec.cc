#include "queue/job_codec.h"

#include <boost/json.hpp>
#include <charconv>

namespace bananas::queue {
namespace {

bool ParseInt(std::string_view text, int64_t& out) {
  // Lua hands some numbers back as "1.7e+12"-free integers, but accept a trailing ".0".
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc()) return false;
  return ptr == text.data() + text.size() || std::string_view(ptr, text.data() + text.size()) == ".0";
}

}  // namespace

Result<std::vector<JobError>> DecodeErrorHistory(std::string_view json) {
  std::vector<JobError> out;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  // cjson encodes an empty table as {}.
  if (!ec && v.is_object() && v.as_object().empty()) return out;
  if (ec || !v.is_array()) return Status::Corruption("errors: not a JSON array");
  for (const auto& entry : v.as_array()) {
    if (!entry.is_object()) return Status::Corruption("errors: entry is not an object");
    const auto& o = entry.as_object();
    JobError e;
    if (auto* a = o.if_contains("attempt"); a && a->is_number()) {
      e.attempt = static_cast<int>(a->to_number<double>());
    }
    if (auto* at = o.if_contains("at"); at && at->is_number()) {
      e.at_unix_ms = static_cast<int64_t>(at->to_number<double>());
    }
    if (auto* m = o.if_contains("error"); m && m->is_string()) {
      e.message = std::string(m->as_string());
    }
    out.push_back(std::move(e));
  }
  return out;
}

Result<Job> DecodeJob(std::string_view id,
                      const std::vector<std::pair<std::string, std::string>>& fields) {
  Job job;
  job.id = std::string(id);
  bool has_name = false, has_state = false;
  for (const auto& entry : fields) {
    // Named references, not a structured binding: clang 14 (the fuzz build) cannot capture
    // structured bindings in the lambdas below.
    const std::string& field = entry.first;
    const std::string& value = entry.second;
    auto bad = [&] {
      return Status::Corruption("job " + std::string(id) + ": field " + field +
                                ": cannot decode \"" + value.substr(0, 64) + "\"");
    };
    int64_t n = 0;
    auto integer = [&](auto& out) -> bool {
      if (!ParseInt(value, n)) return false;
      out = static_cast<std::remove_reference_t<decltype(out)>>(n);
      return true;
    };
    if (field == "name") {
      job.name = value;
      has_name = true;
    } else if (field == "payload") {
      job.payload = value;
    } else if (field == "priority") {
      auto p = ParsePriority(value);
      if (!p) return bad();
      job.priority = *p;
    } else if (field == "state") {
      auto s = ParseJobState(value);
      if (!s) return bad();
      job.state = *s;
      has_state = true;
    } else if (field == "description") {
      job.description = value;
    } else if (field == "unique") {
      job.unique_key = value;
    } else if (field == "error") {
      job.error = value;
    } else if (field == "result") {
      job.result = value;
    } else if (field == "cancel") {
      job.cancel_requested = value == "1";
    } else if (field == "errors") {
      auto history = DecodeErrorHistory(value);
      if (!history) return bad();
      job.errors = std::move(*history);
    } else if (field == "attempts") {
      if (!integer(job.attempts)) return bad();
    } else if (field == "max_retries") {
      if (!integer(job.max_retries)) return bad();
    } else if (field == "recoveries") {
      if (!integer(job.recoveries)) return bad();
    } else if (field == "timeout_ms") {
      if (!integer(job.timeout_ms)) return bad();
    } else if (field == "created") {
      if (!integer(job.created_unix_ms)) return bad();
    } else if (field == "updated") {
      if (!integer(job.updated_unix_ms)) return bad();
    } else if (field == "run_at") {
      if (!integer(job.run_at_unix_ms)) return bad();
    } else if (field == "started") {
      if (!integer(job.started_unix_ms)) return bad();
    } else if (field == "finished") {
      if (!integer(job.finished_unix_ms)) return bad();
    }
    // "token" and unknown fields (from a newer version) are not part of the public Job.
  }
  if (!has_name || !has_state) {
    return Status::Corruption("job " + std::string(id) + ": hash lacks name or state");
  }
  return job;
}

}  // namespace bananas::queue
