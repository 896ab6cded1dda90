// The scenarios of `bananas bench` (SPEC §1, §11): a load generator that drives the public
// Client, Worker and Scheduler in one process against one Redis, and checks that every job
// it submitted was completed exactly once.
//
// Entry points, in the order `bananas bench` runs them:
//   RunEnqueue        jobs/s of Client::Submit (one at a time, each awaited) and of
//                     Client::SubmitBatch (chunks of bulk_chunk); the jobs are deleted after.
//   RunHttpEnqueue    the same through the HTTP API (POST /api/v1/jobs, /jobs/batch) over
//                     keep-alive connections, when api_url is set.
//   RunThroughput     a backlog of `jobs` no-op jobs drained by one in-process Worker:
//                     jobs/s from the first handler start to the last completion (ack), and
//                     Redis CPU and calls per job from INFO deltas over the drain.
//   RunPickup         open loop at `rate` jobs/s for `duration`: start − submit per job.
//   RunLateness       delayed jobs promoted by one Scheduler: start − run_at per job.
// Each scenario uses its own queue (bench-enqueue, bench-throughput, ...) and its own Worker,
// and fills a Delivery (delivery.h) from its handler runs and the jobs' states in Redis.
//
// Keys go under options.prefix; DeleteKeys() removes them all (SCAN + UNLINK), for a Redis
// that outlives the run. Adding a scenario: a Run* here, its result in report.h (JSON and
// table), and its name in `bananas bench --scenarios`.
//
// Thread safety: each Run* owns everything it creates; run them one at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "bananas/status.h"
#include "bench/delivery.h"
#include "bench/latency.h"
#include "bench/redis_cost.h"

namespace bananas::bench {

struct BenchOptions {
  std::string redis_url;           // required
  std::string prefix = "bananas";  // key prefix; a private one on a shared Redis
  // Enqueue and throughput: jobs in the bulk enqueue and in the drained backlog.
  int64_t jobs = 20'000;
  // Enqueue: jobs submitted one at a time (each call awaited before the next).
  int64_t single_jobs = 5'000;
  int bulk_chunk = 1'000;  // jobs per SubmitBatch call (and per HTTP batch)
  // Worker of every scenario. For no-op jobs a few dozen keep the fetcher's batches full;
  // more only adds threads to wake (docs/BENCHMARKS.md has the trials).
  int concurrency = 32;
  int fetch_batch = 32;                       // WorkerOptions::fetch_batch
  int prefetch = 32;                          // WorkerOptions::prefetch
  int64_t rate = 200;                         // pickup: jobs/s, open loop
  std::chrono::milliseconds duration{5'000};  // pickup: how long
  int64_t delayed_jobs = 1'000;               // lateness: jobs
  std::chrono::milliseconds spread{5'000};    // lateness: run_at spread over this long
  std::string api_url;                        // HTTP enqueue: http://host:port; empty: skipped
  std::string api_token;                      // BANANAS_API_TOKEN of that API, if it needs one
  int http_connections = 16;                  // keep-alive connections, one thread each
  // Upper bound of any wait for jobs to run (a stuck scenario fails instead of hanging).
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
};

struct EnqueueResult {
  std::string mode;  // "single", "bulk", "http single", "http bulk"
  std::string api;   // the call measured, in words
  int64_t jobs = 0;
  int connections = 1;
  double seconds = 0;
  int64_t errors = 0;  // HTTP: responses other than 200/201
  double per_second() const { return seconds > 0 ? static_cast<double>(jobs) / seconds : 0; }
};

struct ThroughputResult {
  int64_t jobs = 0;
  int concurrency = 0;
  int fetch_batch = 0;
  int prefetch = 0;
  // First handler start -> the worker's count of acked jobs reaching `jobs`.
  double seconds = 0;
  double jobs_per_second = 0;
  // First handler start -> last handler start: the peer harness's definition.
  double handler_seconds = 0;
  double handler_jobs_per_second = 0;
  RedisCost redis;  // over the drain: prefill excluded, worker fetch/ack/heartbeat included
  Delivery delivery;
};

struct PickupResult {
  int64_t rate = 0;
  int64_t jobs = 0;
  LatencySummary latency;  // handler start - just before Submit, wall clock
  Delivery delivery;
};

struct LatenessResult {
  int64_t jobs = 0;
  double spread_s = 0;
  int64_t early = 0;       // started before run_at: a bug, and a failed check
  LatencySummary latency;  // handler start - run_at, wall clock
  Delivery delivery;
};

[[nodiscard]] Result<EnqueueResult> RunEnqueue(const BenchOptions& options, bool bulk);
[[nodiscard]] Result<EnqueueResult> RunHttpEnqueue(const BenchOptions& options, bool bulk);
[[nodiscard]] Result<ThroughputResult> RunThroughput(const BenchOptions& options);
[[nodiscard]] Result<PickupResult> RunPickup(const BenchOptions& options);
[[nodiscard]] Result<LatenessResult> RunLateness(const BenchOptions& options);

// Removes every key under options.prefix (SCAN MATCH <prefix>:*, UNLINK in batches).
[[nodiscard]] Status DeleteKeys(const BenchOptions& options);

}  // namespace bananas::bench
