// metrics_overhead: what recording metrics costs a worker.
//
// Part 1, the record path alone: per job, exactly what a worker adds when it has a registry
// (series lookup through the per-thread cache, started/succeeded counters, the pickup
// latency and run time histograms, the clock reads they need, the debug-log level check),
// timed over RECORDS jobs on 1 thread and on 2 threads hitting the same series.
//
// Part 2, worker throughput A/B: ROUNDS rounds, each running JOBS no-op jobs (enqueued in
// batches before the worker starts) through an in-process Worker (concurrency 10) once
// with a registry and once without (WorkerOptions::metrics null: nothing recorded, Redis
// round trips not timed either), in alternating order. Prints the medians and the
// difference, for wall-clock throughput and for this process's CPU time per job (the
// measure that survives a shared, noisy machine).
//
// Run: build/release/bench/metrics_overhead             (starts its own redis-server)
//      JOBS=20000 ROUNDS=7 RECORDS=5000000 build/release/bench/metrics_overhead
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bananas/client.h"
#include "bananas/worker.h"
#include "base/clock.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "redis_server.h"

namespace {

using namespace bananas;
using Clock = std::chrono::steady_clock;

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : fallback;
}

// CPU time of the whole process (every thread), in ns: immune to time spent preempted by
// other processes, which on a shared machine swamps wall-clock throughput.
double ProcessCpuNanos() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// The worker's per-job recording, in the order worker.cc does it.
void RecordOneJob(obs::Metrics& metrics, int64_t created_unix_ms) {
  obs::JobSeries& series = metrics.Jobs("default", "noop");  // Dispatch (fetch thread)
  series.Add(obs::JobEvent::kStarted);                       // Run, before the handler
  series.pickup_latency.Observe(static_cast<double>(NowUnixUs() - created_unix_ms * 1000) / 1e6);
  auto start = Clock::now();
  auto end = Clock::now();  // the handler would run in between
  series.run_time.Observe(std::chrono::duration<double>(end - start).count());
  series.Add(obs::JobEvent::kSucceeded);  // completer, after the ack
  if (obs::LogEnabled(obs::LogLevel::kDebug)) std::abort();  // info level: never taken
}

double RecordPathNanos(int threads, int64_t records) {
  obs::Metrics metrics;
  int64_t created = NowUnixMs();
  double cpu_start = ProcessCpuNanos();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int64_t i = 0; i < records / threads; ++i) RecordOneJob(metrics, created);
    });
  }
  for (auto& t : pool) t.join();
  return (ProcessCpuNanos() - cpu_start) / static_cast<double>(records);  // CPU ns per job
}

struct RoundResult {
  double jobs_per_second = -1;  // -1: the round failed
  double cpu_us_per_job = 0;    // this process (worker threads, the poll loop) per job
};

RoundResult Round(const std::string& url, testing::RedisServer* server, int64_t jobs,
                  bool metrics_on, int round) {
  RoundResult failed;
  if (server != nullptr) server->Cli({"FLUSHALL"});
  std::string queue = "mbench-" + std::to_string(round) + (metrics_on ? "-on" : "-off");
  ClientOptions co;
  co.redis_url = url;
  auto client = Client::Connect(co);
  if (!client) return failed;
  std::vector<JobSpec> batch;
  for (int64_t i = 0; i < jobs; ++i) {
    JobSpec spec;
    spec.name = "noop";
    spec.queue = queue;
    batch.push_back(spec);
    if (batch.size() == 1000 || i + 1 == jobs) {
      if (!(*client)->SubmitBatch(batch).ok()) return failed;
      batch.clear();
    }
  }
  WorkerOptions wo;
  wo.redis_url = url;
  wo.queues = {queue};
  wo.concurrency = 10;
  if (metrics_on) wo.metrics = std::make_shared<obs::Metrics>();
  auto worker = Worker::Create(wo);
  if (!worker) return failed;
  if (!(*worker)->Register("noop", [](JobContext&) -> Result<std::string> {
        return std::string();
      }).ok()) {
    return failed;
  }
  auto start = Clock::now();
  double cpu_start = ProcessCpuNanos();
  if (!(*worker)->Start().ok()) return failed;
  while ((*worker)->stats().succeeded < jobs) {
    std::this_thread::sleep_for(std::chrono::microseconds(500));
    if (Clock::now() - start > std::chrono::seconds(300)) return failed;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  double cpu_ns = ProcessCpuNanos() - cpu_start;
  (*worker)->Stop();
  (*worker)->Wait();
  if (metrics_on &&
      wo.metrics->Jobs(queue, "noop").Count(obs::JobEvent::kSucceeded) != static_cast<uint64_t>(jobs)) {
    std::fprintf(stderr, "metrics_overhead: succeeded counter disagrees\n");
    return failed;
  }
  return {static_cast<double>(jobs) / seconds, cpu_ns / 1000 / static_cast<double>(jobs)};
}

}  // namespace

int main() {
  const int64_t jobs = EnvInt("JOBS", 20000);
  const int64_t rounds = EnvInt("ROUNDS", 5);
  const int64_t records = EnvInt("RECORDS", 5'000'000);

  double one = RecordPathNanos(1, records);
  double two = RecordPathNanos(2, records);
  std::printf("record path (CPU): %.1f ns/job on 1 thread, %.1f ns/job on 2 threads, same series\n",
              one, two);
  std::fflush(stdout);

  std::unique_ptr<testing::RedisServer> server;
  std::string url;
  if (const char* u = std::getenv("REDIS_URL")) {
    url = u;
  } else {
    auto s = testing::RedisServer::Start();
    if (!s) {
      std::fprintf(stderr, "metrics_overhead: %s\n", s.status().ToString().c_str());
      return 1;
    }
    server = std::move(*s);
    url = server->url();
  }
  if (Round(url, server.get(), 2000, true, -1).jobs_per_second < 0) return 1;  // warm-up
  std::vector<double> on, off, cpu_on, cpu_off;
  for (int64_t r = 0; r < rounds; ++r) {
    bool on_first = r % 2 == 0;  // alternate the order: drift hits both sides alike
    for (int k = 0; k < 2; ++k) {
      bool metrics_on = (k == 0) == on_first;
      RoundResult result = Round(url, server.get(), jobs, metrics_on, static_cast<int>(r));
      if (result.jobs_per_second < 0) {
        std::fprintf(stderr, "metrics_overhead: round failed\n");
        return 1;
      }
      (metrics_on ? on : off).push_back(result.jobs_per_second);
      (metrics_on ? cpu_on : cpu_off).push_back(result.cpu_us_per_job);
      std::printf("round %lld metrics %-3s %9.0f jobs/s  %7.2f us CPU/job\n",
                  static_cast<long long>(r), metrics_on ? "on" : "off", result.jobs_per_second,
                  result.cpu_us_per_job);
      std::fflush(stdout);
    }
  }
  double m_on = Median(on), m_off = Median(off);
  std::printf("worker throughput, %lld no-op jobs x %lld rounds: median off %.0f jobs/s, on %.0f "
              "jobs/s, difference %+.2f%%\n",
              static_cast<long long>(jobs), static_cast<long long>(rounds), m_off, m_on,
              (m_on - m_off) / m_off * 100);
  double c_on = Median(cpu_on), c_off = Median(cpu_off);
  std::printf("worker CPU per job: median off %.2f us, on %.2f us, difference %+.2f%%\n", c_off,
              c_on, (c_on - c_off) / c_off * 100);
  std::printf("record path / worker CPU per job (off): %.2f%%\n", one / 1000 / c_off * 100);
  std::printf("{\"record_ns\":%.1f,\"record_ns_2threads\":%.1f,\"jobs_per_s_off\":%.0f,"
              "\"jobs_per_s_on\":%.0f,\"cpu_us_per_job_off\":%.2f,\"cpu_us_per_job_on\":%.2f}\n",
              one, two, m_off, m_on, c_off, c_on);
  return 0;
}
