#include "queue/record.h"

#include <charconv>
#include <optional>

#include "queue/job_codec.h"

namespace bananas::queue {
namespace {

constexpr std::string_view kVersion = "2|";

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

void AppendBytes(std::string& out, std::string_view bytes) {
  AppendInt(out, static_cast<int64_t>(bytes.size()));
  out += ':';
  out += bytes;
}

// A cursor over a record's bytes; every read fails (false) past the end or on bad input.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}

  bool Int(int64_t& out, char end) {
    size_t stop = rest_.find(end);
    if (stop == std::string_view::npos || stop == 0) return false;
    auto [ptr, ec] = std::from_chars(rest_.data(), rest_.data() + stop, out);
    if (ec != std::errc() || ptr != rest_.data() + stop) return false;
    rest_.remove_prefix(stop + 1);
    return true;
  }
  template <typename T>
  bool Int(T& out, char end) {
    int64_t v = 0;
    if (!Int(v, end)) return false;
    out = static_cast<T>(v);
    return true;
  }
  bool Bytes(std::string_view& out) {
    int64_t n = 0;
    if (!Int(n, ':') || n < 0 || static_cast<size_t>(n) > rest_.size()) return false;
    out = rest_.substr(0, static_cast<size_t>(n));
    rest_.remove_prefix(static_cast<size_t>(n));
    return true;
  }
  bool Bytes(std::string& out) {
    std::string_view v;
    if (!Bytes(v)) return false;
    out.assign(v);
    return true;
  }
  bool Char(char& out, char end) {
    if (rest_.size() < 2 || rest_[1] != end) return false;
    out = rest_[0];
    rest_.remove_prefix(2);
    return true;
  }
  std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
};

std::optional<Priority> PriorityOfLetter(char c) {
  switch (c) {
    case 'h': return Priority::kHigh;
    case 'n': return Priority::kNormal;
    case 'l': return Priority::kLow;
    default: return std::nullopt;
  }
}

Status Bad(std::string_view what) {
  return Status::Corruption("job record: " + std::string(what));
}

}  // namespace

Record NewRecord(const JobSpec& spec, int64_t now, int64_t run_at) {
  Record r;
  r.priority = spec.priority;
  r.max_retries = spec.max_retries;
  r.run_at_unix_ms = run_at > now ? run_at : now;
  r.name = spec.name;
  r.timeout_ms = spec.timeout_ms;
  r.created_unix_ms = now;
  r.payload = spec.payload;
  r.description = spec.description;
  r.unique_key = spec.unique_key;
  return r;
}

std::string EncodeRecord(const Record& r) {
  std::string body;
  body.reserve(48 + r.payload.size() + r.description.size() + r.unique_key.size());
  AppendInt(body, r.timeout_ms);
  body += '|';
  AppendInt(body, r.created_unix_ms);
  body += '|';
  AppendBytes(body, r.payload);
  AppendBytes(body, r.description);
  AppendBytes(body, r.unique_key);

  std::string out;
  out.reserve(64 + r.name.size() + body.size() + r.errors_json.size());
  out += kVersion;
  out += PriorityName(r.priority).front();
  out += '|';
  AppendInt(out, r.attempts);
  out += '|';
  AppendInt(out, r.recoveries);
  out += '|';
  out += r.lost ? '1' : '0';
  out += '|';
  AppendInt(out, r.max_retries);
  out += '|';
  AppendInt(out, r.run_at_unix_ms);
  out += '|';
  AppendBytes(out, r.name);
  AppendBytes(out, body);
  out += r.errors_json;
  return out;
}

Result<Record> DecodeRecord(std::string_view bytes) {
  if (bytes.substr(0, kVersion.size()) != kVersion) return Bad("not layout 2");
  Reader in(bytes.substr(kVersion.size()));
  Record r;
  char pri = 0, lost = 0;
  std::string_view body;
  if (!in.Char(pri, '|')) return Bad("priority");
  auto p = PriorityOfLetter(pri);
  if (!p) return Bad("priority");
  r.priority = *p;
  if (!in.Int(r.attempts, '|') || !in.Int(r.recoveries, '|')) return Bad("run counters");
  if (!in.Char(lost, '|') || (lost != '0' && lost != '1')) return Bad("lost flag");
  r.lost = lost == '1';
  if (!in.Int(r.max_retries, '|') || !in.Int(r.run_at_unix_ms, '|')) return Bad("header");
  if (!in.Bytes(r.name) || !in.Bytes(body)) return Bad("name or body");
  r.errors_json.assign(in.rest());
  Reader b(body);
  if (!b.Int(r.timeout_ms, '|') || !b.Int(r.created_unix_ms, '|') || !b.Bytes(r.payload) ||
      !b.Bytes(r.description) || !b.Bytes(r.unique_key) || !b.rest().empty()) {
    return Bad("body");
  }
  return r;
}

std::string_view RecordName(std::string_view bytes) {
  // Skip the seven header fields, then read <len>:<name>.
  size_t pos = 0;
  for (int i = 0; i < 7; ++i) {
    pos = bytes.find('|', pos);
    if (pos == std::string_view::npos) return {};
    ++pos;
  }
  size_t colon = bytes.find(':', pos);
  if (colon == std::string_view::npos) return {};
  size_t n = 0;
  auto [ptr, ec] = std::from_chars(bytes.data() + pos, bytes.data() + colon, n);
  if (ec != std::errc() || ptr != bytes.data() + colon || n > bytes.size() - colon - 1) return {};
  return bytes.substr(colon + 1, n);
}

std::string EncodeCompleted(std::string_view record, int64_t started_unix_ms,
                            int64_t finished_unix_ms, std::string_view result) {
  std::string out;
  out.reserve(64 + result.size() + record.size());
  out += 'c';
  AppendInt(out, finished_unix_ms);
  out += '|';
  AppendInt(out, started_unix_ms);
  out += "|1|";
  AppendBytes(out, result);
  out += record;
  return out;
}

Result<FinalRecord> DecodeFinal(std::string_view bytes) {
  if (bytes.empty() || (bytes[0] != 'c' && bytes[0] != 'x')) return Bad("not a final record");
  FinalRecord f;
  f.state = bytes[0] == 'c' ? JobState::kCompleted : JobState::kCancelled;
  Reader in(bytes.substr(1));
  int charged = 0;
  if (!in.Int(f.finished_unix_ms, '|') || !in.Int(f.started_unix_ms, '|') ||
      !in.Int(charged, '|') || !in.Bytes(f.result)) {
    return Bad("final header");
  }
  auto record = DecodeRecord(in.rest());
  if (!record) return record.status();
  f.record = std::move(*record);
  f.record.attempts += charged;
  return f;
}

Job JobFromRecord(std::string_view id, std::string_view queue, Record r, JobState state) {
  Job job;
  job.id = std::string(id);
  job.name = std::move(r.name);
  job.queue = std::string(queue);
  job.priority = r.priority;
  job.state = state;
  job.payload = std::move(r.payload);
  job.description = std::move(r.description);
  job.attempts = r.attempts;
  job.max_retries = r.max_retries;
  job.recoveries = r.recoveries;
  job.timeout_ms = r.timeout_ms;
  job.created_unix_ms = r.created_unix_ms;
  job.updated_unix_ms = r.created_unix_ms;
  job.run_at_unix_ms = r.run_at_unix_ms;
  job.unique_key = std::move(r.unique_key);
  if (!r.errors_json.empty()) {
    auto history = DecodeErrorHistory(r.errors_json);
    if (history) job.errors = std::move(*history);
    if (!job.errors.empty()) job.error = job.errors.back().message;
  }
  return job;
}

}  // namespace bananas::queue
