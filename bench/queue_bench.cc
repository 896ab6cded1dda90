// queue_bench: enqueue, and dequeue+ack, per second, single and batched, against a real
// redis-server this binary starts (no persistence, on a free port); and the Redis CPU each
// job costs, read from the server itself:
//   redis_script_us/job  usec of EVALSHA in INFO commandstats (script time, the commands the
//                        scripts run included) / jobs
//   redis_cpu_us/job     used_cpu_user + used_cpu_sys of INFO cpu / jobs: everything the
//                        Redis process spent, parsing and networking included
//   redis_calls/job      calls in INFO commandstats / jobs, the commands scripts run included
// SPEC §11 budget: ~12 µs of Redis CPU per job for the whole lifecycle (BM_Lifecycle).
//
// Run: make bench, or build/release/bench/queue_bench --benchmark_counters_tabular=true
// REDIS_URL set: use that server instead (it is FLUSHALLed: never point it at real data).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench/redis_cost.h"
#include "queue/broker.h"
#include "redis/connection.h"
#include "redis_server.h"

namespace bananas {
namespace {

std::unique_ptr<testing::RedisServer>& Server() {
  static std::unique_ptr<testing::RedisServer> server;
  return server;
}

std::string Url() {
  if (const char* url = std::getenv("REDIS_URL")) return url;
  if (!Server()) {
    auto s = testing::RedisServer::Start();
    if (!s) {
      std::fprintf(stderr, "queue_bench: %s\n", s.status().ToString().c_str());
      std::exit(1);
    }
    Server() = std::move(*s);
  }
  return Server()->url();
}

std::unique_ptr<redis::Connection> Connect() {
  auto options = redis::Options::FromUrl(Url());
  auto conn = redis::Connection::Open(*options);
  if (!conn || !(*conn)->EnsureConnected().ok()) {
    std::fprintf(stderr, "queue_bench: cannot connect to %s\n", Url().c_str());
    std::exit(1);
  }
  return std::move(*conn);
}

// INFO figures the counters are computed from (src/bench/redis_cost.h). A failed read
// shows as absurd figures, and a bench run is read by a person.
bench::RedisCounters ReadCost(redis::Connection& c) {
  auto counters = bench::ReadRedisCounters(c);
  return counters.ok() ? *counters : bench::RedisCounters{};
}

void Flush(redis::Connection& c) {
  (void)c.Run(redis::Command("FLUSHALL"));  // bench set-up: a failure shows in the figures
  (void)c.Run(redis::Command("CONFIG").Arg("RESETSTAT"));
}

void SetCounters(benchmark::State& state, const bench::RedisCost& cost) {
  if (cost.jobs <= 0) return;
  state.counters["redis_script_us/job"] = cost.script_us_per_job;
  state.counters["redis_cpu_us/job"] = cost.cpu_us_per_job;
  state.counters["redis_calls/job"] = cost.calls_per_job;
}

void ReportCost(benchmark::State& state, redis::Connection& c, const bench::RedisCounters& before,
                int64_t jobs) {
  SetCounters(state, bench::CostPerJob(before, ReadCost(c), jobs));
}

std::vector<JobSpec> NoopJobs(int64_t n) {
  JobSpec spec;
  spec.name = "noop";
  spec.payload = "{}";
  return std::vector<JobSpec>(static_cast<size_t>(n), spec);
}

void BM_Enqueue(benchmark::State& state) {
  auto conn = Connect();
  Flush(*conn);
  queue::Broker broker(*conn, {});
  const int64_t batch = state.range(0);
  auto specs = NoopJobs(batch);
  bench::RedisCounters before = ReadCost(*conn);
  int64_t jobs = 0;
  for (auto _ : state) {
    auto r = broker.EnqueueBatch(specs);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    jobs += batch;
  }
  state.SetItemsProcessed(jobs);
  ReportCost(state, *conn, before, jobs);
}
BENCHMARK(BM_Enqueue)->Arg(1)->Arg(100)->UseRealTime();

// Dequeue + ack of `batch` jobs per call, from a backlog refilled outside the timing.
void BM_DequeueAck(benchmark::State& state) {
  auto conn = Connect();
  Flush(*conn);
  queue::Broker broker(*conn, {});
  const int64_t batch = state.range(0);
  auto refill = NoopJobs(10'000);
  int64_t backlog = 0, jobs = 0;
  // The refills' own Redis cost is measured while paused and taken off the total.
  bench::RedisCounters refill_cost;
  bench::RedisCounters start = ReadCost(*conn);
  for (auto _ : state) {
    if (backlog < batch) {
      state.PauseTiming();
      bench::RedisCounters a = ReadCost(*conn);
      if (!broker.EnqueueBatch(refill).ok()) state.SkipWithError("refill failed");
      bench::RedisCounters b = ReadCost(*conn);
      refill_cost.script_us += b.script_us - a.script_us;
      refill_cost.cpu_us += b.cpu_us - a.cpu_us;
      for (const auto& [name, calls] : b.calls) {
        refill_cost.calls[name] += calls - (a.calls.count(name) ? a.calls.at(name) : 0);
      }
      backlog += 10'000;
      state.ResumeTiming();
    }
    auto leased = broker.Dequeue({"default", static_cast<int>(batch), {}, {}});
    if (!leased.ok()) {
      state.SkipWithError(leased.status().ToString().c_str());
      break;
    }
    std::vector<queue::Completion> done;
    done.reserve(leased->size());
    for (auto& j : *leased) done.push_back({std::move(j.id), j.token, ""});
    auto acked = broker.Ack("default", done);
    if (!acked.ok()) state.SkipWithError(acked.status().ToString().c_str());
    backlog -= static_cast<int64_t>(done.size());
    jobs += static_cast<int64_t>(done.size());
  }
  state.SetItemsProcessed(jobs);
  // Cost of the dequeues and acks alone: the refills' deltas are added to the baseline.
  bench::RedisCounters baseline = start;
  baseline.script_us += refill_cost.script_us;
  baseline.cpu_us += refill_cost.cpu_us;
  for (const auto& [name, calls] : refill_cost.calls) baseline.calls[name] += calls;
  SetCounters(state, bench::CostPerJob(baseline, ReadCost(*conn), jobs));
}
BENCHMARK(BM_DequeueAck)->Arg(1)->Arg(100)->UseRealTime();

// The whole lifecycle, batched: enqueue B, dequeue B, ack B. Redis CPU per job is the
// figure to hold against the SPEC §11 budget.
void BM_Lifecycle(benchmark::State& state) {
  auto conn = Connect();
  Flush(*conn);
  queue::Broker broker(*conn, {});
  const int64_t batch = state.range(0);
  auto specs = NoopJobs(batch);
  bench::RedisCounters before = ReadCost(*conn);
  int64_t jobs = 0;
  for (auto _ : state) {
    if (!broker.EnqueueBatch(specs).ok()) state.SkipWithError("enqueue failed");
    auto leased = broker.Dequeue({"default", static_cast<int>(batch), {}, {}});
    if (!leased.ok()) {
      state.SkipWithError(leased.status().ToString().c_str());
      break;
    }
    std::vector<queue::Completion> done;
    done.reserve(leased->size());
    for (auto& j : *leased) done.push_back({std::move(j.id), j.token, ""});
    if (!broker.Ack("default", done).ok()) state.SkipWithError("ack failed");
    jobs += static_cast<int64_t>(done.size());
  }
  state.SetItemsProcessed(jobs);
  ReportCost(state, *conn, before, jobs);
}
BENCHMARK(BM_Lifecycle)->Arg(1)->Arg(10)->Arg(100)->UseRealTime();

}  // namespace
}  // namespace bananas

BENCHMARK_MAIN();
