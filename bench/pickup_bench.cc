// pickup_bench: idle pickup latency, the time from just before a client's Submit() to the
// moment the worker's handler starts, measured open-loop: one client submits at RATE jobs/s
// (default 200) for DURATION seconds (default 10), one job at a time, each carrying its
// submit time; one in-process Worker (concurrency 10, idle between jobs) records
// now - t on entry. Prints p50/p90/p99/p99.9/max and one JSON line.
//
// Run: build/release/bench/pickup_bench            (starts its own redis-server)
//      RATE=1000 DURATION=5 REDIS_URL=redis://127.0.0.1:6379/0 build/release/bench/pickup_bench
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bananas/client.h"
#include "bananas/worker.h"
#include "base/clock.h"
#include "bench/latency.h"
#include "redis_server.h"

namespace {

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : fallback;
}

}  // namespace

int main() {
  using namespace bananas;
  const int64_t rate = EnvInt("RATE", 200);
  const int64_t duration_s = EnvInt("DURATION", 10);
  std::unique_ptr<testing::RedisServer> server;
  std::string url;
  if (const char* u = std::getenv("REDIS_URL")) {
    url = u;
  } else {
    auto s = testing::RedisServer::Start();
    if (!s) {
      std::fprintf(stderr, "pickup_bench: %s\n", s.status().ToString().c_str());
      return 1;
    }
    server = std::move(*s);
    url = server->url();
  }

  std::mutex mu;
  std::vector<int64_t> latencies_us;
  WorkerOptions wo;
  wo.redis_url = url;
  wo.queues = {"pickup-bench"};
  auto worker = Worker::Create(wo);
  if (!worker) return 1;
  if (!(*worker)->Register("pickup", [&](JobContext& c) -> Result<std::string> {
        int64_t now = NowUnixUs();
        int64_t t = std::atoll(c.payload().c_str());
        std::lock_guard<std::mutex> lock(mu);
        latencies_us.push_back(now - t);
        return std::string();
      }).ok()) {
    return 1;
  }
  if (!(*worker)->Start().ok()) return 1;

  ClientOptions co;
  co.redis_url = url;
  auto client = Client::Connect(co);
  if (!client) return 1;
  JobSpec warm;
  warm.name = "noop-warmup";
  warm.queue = "pickup-bench-warm";
  (void)(*client)->Submit(warm);  // connects and loads the script; not measured

  const int64_t n = rate * duration_s;
  const auto interval = std::chrono::nanoseconds(1'000'000'000 / std::max<int64_t>(rate, 1));
  auto next = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < n; ++i) {
    std::this_thread::sleep_until(next);  // open-loop pacing
    next += interval;
    JobSpec spec;
    spec.name = "pickup";
    spec.queue = "pickup-bench";
    spec.payload = std::to_string(NowUnixUs());
    auto r = (*client)->Submit(spec);
    if (!r) {
      std::fprintf(stderr, "submit: %s\n", r.status().ToString().c_str());
      return 1;
    }
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (static_cast<int64_t>(latencies_us.size()) >= n) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  (*worker)->Stop();
  (*worker)->Wait();

  std::vector<int64_t> samples;
  {
    std::lock_guard<std::mutex> lock(mu);
    samples = latencies_us;
  }
  const bench::LatencySummary l = bench::Summarize(samples);
  std::printf("pickup latency, %lld jobs at %lld/s (ms): p50 %.3f  p90 %.3f  p99 %.3f  "
              "p99.9 %.3f  max %.3f\n",
              static_cast<long long>(l.count), static_cast<long long>(rate), l.p50_ms, l.p90_ms,
              l.p99_ms, l.p999_ms, l.max_ms);
  std::printf("{\"bench\":\"pickup\",\"n\":%lld,\"rate\":%lld,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
              "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f}\n",
              static_cast<long long>(l.count), static_cast<long long>(rate), l.p50_ms, l.p90_ms,
              l.p99_ms, l.p999_ms, l.max_ms);
  return l.count == n ? 0 : 1;
}
