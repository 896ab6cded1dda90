// queue_bench: enqueue, and dequeue+ack, per second, single and batched, against a real
// redis-server this binary starts (no persistence, on a free port); and the Redis CPU each
// job costs, read from the server itself:
//   redis_script_us/job  usec of EVALSHA in INFO commandstats (script time, the commands the
//                        scripts run included) / jobs
//   redis_cpu_us/job     used_cpu_user + used_cpu_sys of INFO cpu / jobs: everything the
//                        Redis process spent, parsing and networking included
// SPEC §11 budget: ~12 µs of Redis CPU per job for the whole lifecycle (BM_Lifecycle).
//
// Run: make bench, or build/release/bench/queue_bench --benchmark_counters_tabular=true
// REDIS_URL set: use that server instead (it is FLUSHALLed: never point it at real data).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

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

// INFO figures the counters are computed from.
struct RedisCost {
  double script_usec = 0;
  double cpu_usec = 0;
};

RedisCost ReadCost(redis::Connection& c) {
  RedisCost cost;
  auto stats = c.Run(redis::Command("INFO").Arg("commandstats"));
  auto cpu = c.Run(redis::Command("INFO").Arg("cpu"));
  if (stats.ok()) {
    std::istringstream in(stats->str);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("cmdstat_evalsha:", 0) == 0) {
        auto pos = line.find("usec=");
        cost.script_usec = std::stod(line.substr(pos + 5));
      }
    }
  }
  if (cpu.ok()) {
    std::istringstream in(cpu->str);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("used_cpu_user:", 0) == 0) cost.cpu_usec += std::stod(line.substr(14)) * 1e6;
      if (line.rfind("used_cpu_sys:", 0) == 0) cost.cpu_usec += std::stod(line.substr(13)) * 1e6;
    }
  }
  return cost;
}

void Flush(redis::Connection& c) {
  (void)c.Run(redis::Command("FLUSHALL"));  // bench set-up: a failure shows in the figures
  (void)c.Run(redis::Command("CONFIG").Arg("RESETSTAT"));
}

void ReportCost(benchmark::State& state, redis::Connection& c, const RedisCost& before,
                int64_t jobs) {
  RedisCost after = ReadCost(c);
  if (jobs <= 0) return;
  state.counters["redis_script_us/job"] = (after.script_usec - before.script_usec) / jobs;
  state.counters["redis_cpu_us/job"] = (after.cpu_usec - before.cpu_usec) / jobs;
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
  RedisCost before = ReadCost(*conn);
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
  RedisCost refill_cost;
  RedisCost start = ReadCost(*conn);
  for (auto _ : state) {
    if (backlog < batch) {
      state.PauseTiming();
      RedisCost a = ReadCost(*conn);
      if (!broker.EnqueueBatch(refill).ok()) state.SkipWithError("refill failed");
      RedisCost b = ReadCost(*conn);
      refill_cost.script_usec += b.script_usec - a.script_usec;
      refill_cost.cpu_usec += b.cpu_usec - a.cpu_usec;
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
  RedisCost end = ReadCost(*conn);
  if (jobs > 0) {
    state.counters["redis_script_us/job"] =
        (end.script_usec - start.script_usec - refill_cost.script_usec) / jobs;
    state.counters["redis_cpu_us/job"] =
        (end.cpu_usec - start.cpu_usec - refill_cost.cpu_usec) / jobs;
  }
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
  RedisCost before = ReadCost(*conn);
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
