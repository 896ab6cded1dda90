// Metrics: the Prometheus registry of one process, rendered as text exposition format 0.0.4.
//
// Entry points:
//   Metrics::Jobs(queue, job_type)  the counters and histograms of one (queue, job type)
//                                   series: found through a per-thread cache, so the job
//                                   path takes no lock once a thread has seen the series
//   Metrics::redis()                round trips, errors and connections of our Redis clients
//   Metrics::AddDlqTrimmed()        dead jobs deleted by the DLQ bounds, by queue (scheduler)
//   Metrics::AddCollector()         a function that writes gauges read at scrape time
//                                   (active jobs, queue depth from Redis, API counters)
//   Metrics::Render()               the text every /metrics answers
//
// Why no lock on the hot path: a worker records about five numbers per job from its
// executor, completer and fetch threads. Every number is a relaxed atomic in storage that
// never moves (series are never deleted), so recording is a few uncontended-or-not
// fetch_adds; the registry mutex is taken only to create a series and to render. The
// alternative, per-thread counter shards summed at scrape, saves the cache-line transfer of
// contended increments but costs a registry of threads; measured in docs/BENCHMARKS.md, the
// atomics are well under the 2% budget.
//
// Cardinality is bounded: at most kMaxJobSeries (queue, job type) pairs; later pairs are
// counted under queue="_other", job_type="_other".
//
// Adding a metric: a field here (or a collector), its lines in Render() or the collector,
// and a row in docs/OPERATIONS.md. Names carry their unit (_seconds, _total).
//
// Thread safety: every member is thread-safe. AddCollector before the first Render.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bananas::obs {

// What happened to a job, one counter each: bananas_jobs_<name>_total.
enum class JobEvent : int {
  kSubmitted = 0,  // written by an API server (duplicates of a unique key not counted)
  kStarted,        // a worker began a run
  kSucceeded,      // a run's success was written (ack accepted)
  kFailed,         // a run's failure was written (it will be retried or is dead)
  kRetried,        // a failed run that will be retried
  kDead,           // a job that went to the DLQ (failed for good, or a poison pill)
  kRecovered,      // an expired lease handed back to its queue by a scheduler
  kCancelled,      // a job cancelled (pending by the API, running by its worker)
};
inline constexpr int kJobEventCount = 8;
std::string_view JobEventName(JobEvent event);

// Bucket upper bounds, in seconds.
// Job pickup latency and run time: 100 µs .. 5 min.
inline constexpr std::array<double, 20> kJobSecondsBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25,   0.5,     1,      2.5,   5,      10,    30,   60,    120,  300};
// One Redis round trip: 25 µs .. 5 s.
inline constexpr std::array<double, 16> kRedisSecondsBuckets = {
    0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
    0.01,     0.025,   0.05,   0.1,     0.25,   0.5,   1,      5};

// A histogram with fixed buckets. Observe is wait-free: one relaxed fetch_add on the bucket
// and one on the sum (kept in nanoseconds, so it is an integer add, exact to 1 ns).
class Histogram {
 public:
  // `upper_bounds` ascending, in seconds; must outlive the histogram (use the constants above).
  explicit Histogram(std::span<const double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(double seconds) noexcept;

  struct Snapshot {
    std::span<const double> upper_bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (= count)
    double sum_seconds = 0;
    uint64_t count() const { return cumulative.empty() ? 0 : cumulative.back(); }
  };
  Snapshot Read() const;

 private:
  std::span<const double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // upper_bounds_.size() + 1 (+Inf)
  std::atomic<uint64_t> sum_nanos_{0};
};

// The numbers of one (queue, job type) pair. Lives as long as its Metrics.
struct JobSeries {
  JobSeries(std::string queue_name, std::string type_name)
      : queue(std::move(queue_name)), job_type(std::move(type_name)) {}

  void Add(JobEvent event, uint64_t n = 1) noexcept {
    counts[static_cast<int>(event)].fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Count(JobEvent event) const noexcept {
    return counts[static_cast<int>(event)].load(std::memory_order_relaxed);
  }

  const std::string queue;
  const std::string job_type;
  std::array<std::atomic<uint64_t>, kJobEventCount> counts{};
  // start - max(enqueued, run_at): how long a ready job waited for a worker.
  Histogram pickup_latency{kJobSecondsBuckets};
  // The handler's run, start to return.
  Histogram run_time{kJobSecondsBuckets};
};

// Our Redis clients, all connections of the process together.
struct RedisMetrics {
  Histogram round_trip{kRedisSecondsBuckets};  // write of a command or pipeline to last reply
  std::atomic<uint64_t> errors{0};             // I/O failures and timeouts (not error replies)
  std::atomic<int64_t> connections{0};         // connections open now
  std::atomic<uint64_t> connects{0};           // successful connects, reconnects included
};

// Writes the text format: one family (HELP, TYPE) then its samples. Label values and HELP
// text are escaped as the format requires (\\, \", \n).
class Exposition {
 public:
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  // type: "counter", "gauge" or "histogram".
  void Family(std::string_view name, std::string_view help, std::string_view type);
  void Sample(std::string_view name, Labels labels, double value);
  void Sample(std::string_view name, Labels labels, uint64_t value);
  void Sample(std::string_view name, Labels labels, int64_t value);
  // <name>_bucket{...,le="..."}, <name>_sum, <name>_count.
  void HistogramSamples(std::string_view name, Labels labels, const Histogram::Snapshot& h);

  std::string& text() { return text_; }

 private:
  void Start(std::string_view name, Labels labels, std::string_view extra_key = {},
             std::string_view extra_value = {});
  std::string text_;
};

// Formats a sample value as the text format wants it: shortest round-trip decimal, "+Inf",
// "-Inf", "NaN".
std::string FormatValue(double value);
// Escapes a label value: backslash, double quote and newline.
std::string EscapeLabelValue(std::string_view value);

class Metrics {
 public:
  static constexpr size_t kMaxJobSeries = 2000;
  static constexpr std::string_view kOverflowLabel = "_other";

  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;
  ~Metrics();

  // The series of (queue, job_type), created on first use. The reference stays valid for
  // the life of this Metrics. Lock-free after the calling thread's first lookup of the pair.
  JobSeries& Jobs(std::string_view queue, std::string_view job_type);

  RedisMetrics& redis() { return redis_; }

  // Dead jobs deleted by DLQ_MAX / DLQ_TTL in `queue`: bananas_dlq_trimmed_total{queue}.
  // Rare (a scheduler's trim round that deleted something), so it takes the registry mutex.
  // At most kMaxJobSeries queues; later ones count under queue="_other".
  void AddDlqTrimmed(std::string_view queue, uint64_t n);
  uint64_t DlqTrimmed(std::string_view queue);

  // `collect` is called by every Render, after the registry's own families, from the
  // rendering thread; it may block briefly (the queue-depth collector reads Redis, cached).
  // REQUIRES: before the first Render.
  void AddCollector(std::function<void(Exposition&)> collect);

  std::string Render();

 private:
  JobSeries& CreateSeries(std::string_view queue, std::string_view job_type);

  const uint64_t id_;  // distinguishes registries in the per-thread caches
  RedisMetrics redis_;
  std::mutex mu_;
  // Guarded by mu_. Never shrinks; the series themselves are not guarded (atomics).
  std::vector<std::unique_ptr<JobSeries>> series_;
  std::vector<std::function<void(Exposition&)>> collectors_;
  std::map<std::string, uint64_t, std::less<>> dlq_trimmed_;  // Guarded by mu_.
};

}  // namespace bananas::obs
