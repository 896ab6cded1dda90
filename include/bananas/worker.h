// Worker: runs registered handlers on jobs leased from Redis.
//
// A Worker serves a set of queues (routing keys) and, optionally, only some job types. It
// keeps WorkerOptions::concurrency jobs running at most, renews their leases by heartbeat,
// and on Stop() stops fetching, lets running jobs finish within shutdown_grace, then hands
// unfinished jobs back to their queue.
//
// Handlers are plain callables registered by name before Start(). A handler returns the
// job's result (bytes) or an error Status; throwing is also a failure (the exception's
// what() becomes the error). An InvalidArgument error is permanent: the job goes to the DLQ
// without retries. Every other error is retried with backoff while retries remain.
//
// Thread safety: Register() before Start(); Start(), Stop() and Wait() from any one thread.
// Handlers run on the worker's pool threads, many at once: they must be thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bananas/job.h"
#include "bananas/status.h"

namespace bananas {

namespace obs {
class Metrics;  // src/obs/metrics.h: the process's Prometheus registry
}

// What a handler sees of its job. Valid for the duration of the handler call only.
class JobContext {
 public:
  virtual ~JobContext() = default;

  virtual const std::string& id() const = 0;
  virtual const std::string& name() const = 0;
  virtual const std::string& queue() const = 0;
  virtual const std::string& payload() const = 0;
  virtual Priority priority() const = 0;
  // 1 for the first run; a run after lease recovery counts.
  virtual int attempt() const = 0;
  virtual int max_retries() const = 0;

  // True once the job should stop: cancellation was requested, its deadline passed, the
  // worker lost its lease, or the worker is shutting down past its grace period.
  // Long-running handlers check it, or wait with SleepFor.
  virtual bool cancelled() const = 0;
  // Why cancelled() is true: "cancelled", "timeout", "lease lost" or "shutdown"; empty if not.
  virtual std::string cancel_reason() const = 0;
  // When the job's run time is up (JOB_TIMEOUT or the job's timeout_ms).
  virtual std::chrono::steady_clock::time_point deadline() const = 0;
  // Sleeps up to `duration`, waking early on cancellation. True if the full time passed.
  virtual bool SleepFor(std::chrono::milliseconds duration) const = 0;
  // Progress in [0, 1] with an optional note; kept in memory and shown by the worker's
  // active-jobs view (best effort, never written on the hot path).
  virtual void ReportProgress(double fraction, std::string_view note = {}) = 0;
};

using Handler = std::function<Result<std::string>(JobContext& context)>;

struct WorkerOptions {
  // Where Redis is (REDIS_URL); see redis URL forms in SPEC §1.
  std::string redis_url = "redis://127.0.0.1:6379/0";
  std::string prefix = "bananas";        // BANANAS_PREFIX
  int concurrency = 10;                  // WORKER_CONCURRENCY: jobs running at once
  std::vector<std::string> queues = {"default"};  // WORKER_QUEUES: routing keys served
  // WORKER_PRIORITIES: the priorities this worker takes; all three by default. Order among
  // them stays strict (high before normal before low).
  std::vector<Priority> priorities = {Priority::kHigh, Priority::kNormal, Priority::kLow};
  // WORKER_JOB_TYPES: only these types are ever leased. Empty means every type; a job whose
  // type has no handler here then fails with "no handler" (retried with backoff, so a worker
  // that has it can take it). Mixed fleets should set this.
  std::vector<std::string> job_types;
  std::chrono::milliseconds job_timeout{std::chrono::minutes(30)};   // JOB_TIMEOUT
  std::chrono::milliseconds lease_timeout{std::chrono::seconds(30)};  // LEASE_TIMEOUT
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(30)};  // SHUTDOWN_GRACE
  std::chrono::milliseconds result_ttl_success{std::chrono::hours(24)};  // RESULT_TTL_SUCCESS
  std::chrono::milliseconds result_ttl_failure{std::chrono::hours(24 * 7)};  // RESULT_TTL_FAILURE
  // MAX_RESULT_BYTES: a handler's result larger than this is not stored; the job fails (not
  // retried) with "result of N bytes exceeds MAX_RESULT_BYTES (M bytes)". 0: no limit.
  int64_t max_result_bytes = 1 << 20;
  // Performance: the most jobs leased per dequeue call. A batch never waits to fill: at low
  // load a dequeue returns the one job there is.
  int fetch_batch = 32;
  // WORKER_PREFETCH: jobs leased beyond `concurrency`, waiting in the worker for an executor,
  // so that a batch is in hand when one finishes. Used only while jobs are short (a moving
  // average of run time under 1 ms): then a waiting job is held back from other workers for
  // milliseconds at most. With longer jobs the worker leases only for a free executor. A
  // job's timeout counts from when it starts, not from its lease. 0 turns it off.
  int prefetch = 32;
  // A name shown in the workers list; empty means host:pid.
  std::string name;
  // Where the worker records job counters, pickup latency and run time histograms, Redis
  // round trips and its active-jobs gauges (the `bananas` binary serves them on /metrics).
  // Null (the default): nothing is recorded.
  std::shared_ptr<obs::Metrics> metrics;
};

// A snapshot of a running job, for the workers view and diagnostics.
struct ActiveJob {
  std::string id;
  std::string name;
  std::string queue;
  int64_t started_unix_ms = 0;
  double progress = 0;
};

struct WorkerStats {
  int64_t started = 0;
  int64_t succeeded = 0;
  int64_t failed = 0;      // runs that failed (retried or dead)
  int64_t lease_lost = 0;  // outcomes refused because the lease was gone
  int64_t handed_back = 0;
  int active = 0;
};

class Worker {
 public:
  // Checks the options (InvalidArgument names the field) and connects lazily: Redis may be
  // down at start; the worker keeps retrying.
  [[nodiscard]] static Result<std::unique_ptr<Worker>> Create(const WorkerOptions& options);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker();  // Stops and waits if still running.

  // REQUIRES: not started. AlreadyExists if `name` is taken; InvalidArgument for a bad name.
  [[nodiscard]] Status Register(std::string_view name, Handler handler);
  // The built-in handlers of SPEC §6: noop, echo, sleep, fail, cpu, alloc.
  [[nodiscard]] Status RegisterBuiltins();
  // Loads a plug-in: a shared object exporting
  //   extern "C" int bananas_register_handlers(bananas::Worker* worker);
  // that returns 0 on success. InvalidArgument names the file and what went wrong.
  [[nodiscard]] Status LoadPlugin(const std::string& path);
  std::vector<std::string> handler_names() const;

  // Starts the threads and returns.
  [[nodiscard]] Status Start();
  // Begins graceful shutdown: stop fetching, let running jobs finish within shutdown_grace,
  // then hand unfinished jobs back. Returns at once; Wait() for the end. Safe to call twice.
  void Stop();
  // Blocks until the worker has stopped (after Stop()). Handlers that ignored cancellation
  // may still be running on detached threads; their outcomes are discarded.
  void Wait();

  const std::string& id() const;
  WorkerStats stats() const;
  std::vector<ActiveJob> active_jobs() const;

 private:
  class Impl;
  explicit Worker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bananas
