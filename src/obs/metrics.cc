#include "obs/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <tuple>
#include <unordered_map>

#include "base/clock.h"

namespace bananas::obs {
namespace {

std::atomic<uint64_t> next_registry_id{1};

constexpr std::array<std::string_view, kJobEventCount> kEventNames = {
    "submitted", "started", "succeeded", "failed", "retried", "dead", "recovered", "cancelled"};
constexpr std::array<std::string_view, kJobEventCount> kEventHelp = {
    "Jobs written to Redis by this API server (a duplicate unique key is not counted).",
    "Job runs begun by this worker.",
    "Job runs whose success this worker wrote to Redis.",
    "Job runs whose failure this worker wrote to Redis (retried or dead).",
    "Failed job runs that will be retried after their backoff.",
    "Jobs sent to the dead-letter queue (last attempt failed, or a poison pill).",
    "Expired leases this scheduler handed back to their queue (job_type is empty: the sweep "
    "does not read the job).",
    "Jobs cancelled: pending ones by this API server (job_type empty), running ones by this "
    "worker.",
};

// Per-thread: (registry id, queue, job type) -> series. The key is built in a reused buffer,
// so a hit allocates nothing once the buffer has grown.
struct SeriesCache {
  std::unordered_map<std::string, JobSeries*> entries;
  std::string key;
};
thread_local SeriesCache series_cache;
// A thread that meets many registries (tests) or pairs must not grow without bound.
constexpr size_t kMaxCachedPerThread = 4096;

void BuildKey(std::string& key, uint64_t id, std::string_view queue, std::string_view job_type) {
  key.clear();
  key.append(reinterpret_cast<const char*>(&id), sizeof id);
  key.append(queue);
  key.push_back('\0');
  key.append(job_type);
}

}  // namespace

std::string_view JobEventName(JobEvent event) { return kEventNames[static_cast<int>(event)]; }

// --- Histogram.

Histogram::Histogram(std::span<const double> upper_bounds)
    : upper_bounds_(upper_bounds),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(upper_bounds.size() + 1)) {}

void Histogram::Observe(double seconds) noexcept {
  if (!(seconds >= 0)) seconds = 0;  // also NaN
  size_t bucket = static_cast<size_t>(
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), seconds) -
      upper_bounds_.begin());
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  double nanos = std::min(seconds * 1e9, 1.8e19);
  sum_nanos_.fetch_add(static_cast<uint64_t>(nanos), std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.upper_bounds = upper_bounds_;
  snapshot.cumulative.resize(upper_bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative[i] = running;
  }
  snapshot.sum_seconds = static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / 1e9;
  return snapshot;
}

// --- Text format.

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (ec != std::errc()) return "NaN";
  return std::string(buffer, end);
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

void Exposition::Family(std::string_view name, std::string_view help, std::string_view type) {
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  for (char c : help) {  // HELP escapes only backslash and newline
    if (c == '\\') {
      text_ += "\\\\";
    } else if (c == '\n') {
      text_ += "\\n";
    } else {
      text_.push_back(c);
    }
  }
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += type;
  text_ += '\n';
}

void Exposition::Start(std::string_view name, Labels labels, std::string_view extra_key,
                       std::string_view extra_value) {
  text_ += name;
  if (labels.size() == 0 && extra_key.empty()) {
    text_ += ' ';
    return;
  }
  text_ += '{';
  bool first = true;
  auto add = [&](std::string_view key, std::string_view value) {
    if (!first) text_ += ',';
    first = false;
    text_ += key;
    text_ += "=\"";
    text_ += EscapeLabelValue(value);
    text_ += '"';
  };
  for (const auto& [key, value] : labels) add(key, value);
  if (!extra_key.empty()) add(extra_key, extra_value);
  text_ += "} ";
}

void Exposition::Sample(std::string_view name, Labels labels, double value) {
  Start(name, labels);
  text_ += FormatValue(value);
  text_ += '\n';
}

void Exposition::Sample(std::string_view name, Labels labels, uint64_t value) {
  Start(name, labels);
  text_ += std::to_string(value);
  text_ += '\n';
}

void Exposition::Sample(std::string_view name, Labels labels, int64_t value) {
  Start(name, labels);
  text_ += std::to_string(value);
  text_ += '\n';
}

void Exposition::HistogramSamples(std::string_view name, Labels labels,
                                  const Histogram::Snapshot& h) {
  std::string bucket = std::string(name) + "_bucket";
  for (size_t i = 0; i < h.cumulative.size(); ++i) {
    std::string le = "+Inf";
    if (i < h.upper_bounds.size()) {
      // Fixed notation ("0.0001", not "1e-04"): what people type in PromQL's le matchers.
      char buffer[64];
      auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, h.upper_bounds[i],
                                     std::chars_format::fixed);
      le = ec == std::errc() ? std::string(buffer, end) : FormatValue(h.upper_bounds[i]);
    }
    Start(bucket, labels, "le", le);
    text_ += std::to_string(h.cumulative[i]);
    text_ += '\n';
  }
  Sample(std::string(name) + "_sum", labels, h.sum_seconds);
  Sample(std::string(name) + "_count", labels, h.count());
}

// --- Registry.

Metrics::Metrics() : id_(next_registry_id.fetch_add(1, std::memory_order_relaxed)) {}

Metrics::~Metrics() = default;

JobSeries& Metrics::Jobs(std::string_view queue, std::string_view job_type) {
  SeriesCache& cache = series_cache;
  BuildKey(cache.key, id_, queue, job_type);
  if (auto it = cache.entries.find(cache.key); it != cache.entries.end()) return *it->second;
  JobSeries& series = CreateSeries(queue, job_type);
  if (cache.entries.size() >= kMaxCachedPerThread) cache.entries.clear();
  cache.entries.emplace(cache.key, &series);
  return series;
}

JobSeries& Metrics::CreateSeries(std::string_view queue, std::string_view job_type) {
  std::lock_guard<std::mutex> lock(mu_);
  auto find = [&](std::string_view q, std::string_view t) -> JobSeries* {
    for (const auto& s : series_) {
      if (s->queue == q && s->job_type == t) return s.get();
    }
    return nullptr;
  };
  if (JobSeries* found = find(queue, job_type)) return *found;
  if (series_.size() >= kMaxJobSeries) {
    if (JobSeries* other = find(kOverflowLabel, kOverflowLabel)) return *other;
    queue = kOverflowLabel;
    job_type = kOverflowLabel;
  }
  series_.push_back(std::make_unique<JobSeries>(std::string(queue), std::string(job_type)));
  return *series_.back();
}

void Metrics::AddDlqTrimmed(std::string_view queue, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = dlq_trimmed_.find(queue);
  if (it == dlq_trimmed_.end()) {
    if (dlq_trimmed_.size() >= kMaxJobSeries) queue = kOverflowLabel;
    it = dlq_trimmed_.try_emplace(std::string(queue), 0).first;
  }
  it->second += n;
}

uint64_t Metrics::DlqTrimmed(std::string_view queue) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = dlq_trimmed_.find(queue);
  return it == dlq_trimmed_.end() ? 0 : it->second;
}

void Metrics::AddCollector(std::function<void(Exposition&)> collect) {
  std::lock_guard<std::mutex> lock(mu_);
  collectors_.push_back(std::move(collect));
}

std::string Metrics::Render() {
  std::vector<JobSeries*> series;
  std::vector<std::function<void(Exposition&)>> collectors;
  std::map<std::string, uint64_t, std::less<>> dlq_trimmed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : series_) series.push_back(s.get());
    collectors = collectors_;
    dlq_trimmed = dlq_trimmed_;
  }
  std::sort(series.begin(), series.end(), [](const JobSeries* a, const JobSeries* b) {
    return std::tie(a->queue, a->job_type) < std::tie(b->queue, b->job_type);
  });

  Exposition out;
  for (int e = 0; e < kJobEventCount; ++e) {
    std::string name = "bananas_jobs_" + std::string(kEventNames[e]) + "_total";
    out.Family(name, kEventHelp[e], "counter");
    for (const JobSeries* s : series) {
      out.Sample(name, {{"queue", s->queue}, {"job_type", s->job_type}},
                 s->counts[e].load(std::memory_order_relaxed));
    }
  }
  out.Family("bananas_job_pickup_latency_seconds",
             "Time from when a job was ready (max of enqueue and run_at) to the start of its run.",
             "histogram");
  for (const JobSeries* s : series) {
    out.HistogramSamples("bananas_job_pickup_latency_seconds",
                         {{"queue", s->queue}, {"job_type", s->job_type}},
                         s->pickup_latency.Read());
  }
  out.Family("bananas_job_run_time_seconds", "Time a handler ran, start to return.", "histogram");
  for (const JobSeries* s : series) {
    out.HistogramSamples("bananas_job_run_time_seconds",
                         {{"queue", s->queue}, {"job_type", s->job_type}}, s->run_time.Read());
  }

  out.Family("bananas_redis_round_trip_seconds",
             "Redis round trips of this process: write of a command or pipeline to its last "
             "reply.",
             "histogram");
  out.HistogramSamples("bananas_redis_round_trip_seconds", {}, redis_.round_trip.Read());
  out.Family("bananas_redis_errors_total",
             "Redis I/O failures and timeouts of this process (error replies not included).",
             "counter");
  out.Sample("bananas_redis_errors_total", {}, redis_.errors.load(std::memory_order_relaxed));
  out.Family("bananas_redis_connects_total",
             "Successful connects to Redis by this process, reconnects included.", "counter");
  out.Sample("bananas_redis_connects_total", {}, redis_.connects.load(std::memory_order_relaxed));
  out.Family("bananas_redis_connections", "Redis connections this process holds open.", "gauge");
  out.Sample("bananas_redis_connections", {},
             redis_.connections.load(std::memory_order_relaxed));

  out.Family("bananas_dlq_trimmed_total",
             "Dead jobs deleted by the DLQ bounds (DLQ_MAX, DLQ_TTL), oldest first.", "counter");
  for (const auto& [queue, n] : dlq_trimmed) {
    out.Sample("bananas_dlq_trimmed_total", {{"queue", queue}}, n);
  }
  out.Family("bananas_clock_offset_seconds",
             "Redis' clock minus this host's, as last measured (TIME); added to every time this "
             "process stamps or compares.",
             "gauge");
  out.Sample("bananas_clock_offset_seconds", {}, static_cast<double>(ClockOffsetUs()) / 1e6);

  for (const auto& collect : collectors) collect(out);
  return std::move(out.text());
}

}  // namespace bananas::obs
