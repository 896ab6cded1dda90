// lateness_bench: how late one Scheduler makes delayed jobs pending (SPEC §11: p99 < 5 ms).
//
// Enqueues N delayed jobs (env N, default 2000) whose run_at is spread over SPREAD_MS (default
// 10000) at random millisecond offsets, starting START_MS (default 2000) from now so that the
// enqueue and the scheduler's start are over before the first is due. One Scheduler promotes
// them. Afterwards every job hash is read back: promote_due.lua stamps "updated" with the
// promoting scheduler's clock, so lateness = updated - run_at, both unix ms from this
// machine's wall clock. run_at is an exact millisecond and updated is the promotion time
// floored to one, so a figure of L ms means a true lateness in [L, L + 1) ms: 0 means
// "promoted within the millisecond the job became due".
//
// Run: build/release/bench/lateness_bench   (N=20000 SPREAD_MS=10000 to change the load)
// REDIS_URL set: use that server instead of starting one; keys go under a prefix of their
// own (bananas_lateness_<pid>) and are left there.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "bench/latency.h"
#include "queue/broker.h"
#include "redis/connection.h"
#include "redis_server.h"
#include "scheduler/scheduler.h"

namespace bananas {
namespace {

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  long long parsed = std::strtoll(v, &end, 10);
  if (end == v || *end != '\0' || parsed <= 0) {
    std::fprintf(stderr, "lateness_bench: %s must be a positive integer\n", name);
    std::exit(2);
  }
  return parsed;
}

[[noreturn]] void Die(const std::string& what, const Status& status) {
  std::fprintf(stderr, "lateness_bench: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  return bench::PercentileOfSorted(sorted, p);
}

int Main() {
  const int64_t n = EnvInt("N", 2000);
  const int64_t spread_ms = EnvInt("SPREAD_MS", 10'000);
  const int64_t start_ms = EnvInt("START_MS", 2'000);

  std::unique_ptr<testing::RedisServer> server;
  std::string url;
  std::string prefix = "bananas";
  if (const char* env = std::getenv("REDIS_URL")) {
    url = env;
    prefix = "bananas_lateness_" + std::to_string(::getpid());
  } else {
    auto s = testing::RedisServer::Start();
    if (!s) Die("redis-server", s.status());
    server = std::move(*s);
    url = server->url();
  }

  auto redis_options = redis::Options::FromUrl(url);
  if (!redis_options) Die("REDIS_URL", redis_options.status());
  auto conn = redis::Connection::Open(*redis_options);
  if (!conn) Die("connect", conn.status());
  if (Status s = (*conn)->EnsureConnected(); !s.ok()) Die("connect", s);
  queue::BrokerOptions broker_options;
  broker_options.prefix = prefix;
  queue::Broker broker(**conn, broker_options);

  // Enqueue first, so the scheduler's first round already knows the queue.
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<int64_t> offset(0, spread_ms - 1);
  const int64_t first_due = NowUnixMs() + start_ms;
  std::vector<JobSpec> specs(static_cast<size_t>(n));
  int64_t last_due = 0;
  for (auto& spec : specs) {
    spec.name = "lateness";
    spec.queue = "lateness";
    spec.run_at_unix_ms = first_due + offset(rng);
    last_due = std::max(last_due, spec.run_at_unix_ms);
  }
  auto enqueued = broker.EnqueueBatch(specs, 1000);
  if (!enqueued) Die("enqueue", enqueued.status());
  if (NowUnixMs() >= first_due) {
    std::fprintf(stderr, "lateness_bench: enqueue took longer than START_MS; raise it\n");
    return 1;
  }

  scheduler::SchedulerOptions options;
  options.redis_url = url;
  options.prefix = prefix;
  auto sched = scheduler::Scheduler::Create(options);
  if (!sched) Die("scheduler", sched.status());
  if (Status s = (*sched)->Start(); !s.ok()) Die("scheduler start", s);

  // The workload has a known end: wait until the last run_at plus a margin has passed (the
  // length of the experiment, not a synchronisation). A job still scheduled then is reported
  // as not pending: more than a second late.
  constexpr int64_t kMarginMs = 1000;
  std::this_thread::sleep_until(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(last_due + kMarginMs)));
  (*sched)->Stop();
  (*sched)->Wait();
  scheduler::SchedulerStats stats = (*sched)->stats();

  // Read back run_at and updated of every job, in pipelines of 1000.
  std::vector<int64_t> lateness;
  lateness.reserve(specs.size());
  int not_pending = 0;
  for (size_t start = 0; start < enqueued->size(); start += 1000) {
    redis::Pipeline pipeline;
    size_t end = std::min(enqueued->size(), start + 1000);
    for (size_t i = start; i < end; ++i) {
      pipeline.Add(redis::Command("HMGET")
                       .Arg(broker.keys().JobFromId((*enqueued)[i].id))
                       .Arg("state")
                       .Arg("run_at")
                       .Arg("updated"));
    }
    auto replies = (*conn)->Run(pipeline);
    if (!replies) Die("read back", replies.status());
    for (const auto& r : *replies) {
      if (!r.is_array() || r.elements.size() != 3 || r.elements[0].str != "pending") {
        ++not_pending;
        continue;
      }
      lateness.push_back(std::stoll(r.elements[2].str) - std::stoll(r.elements[1].str));
    }
  }
  std::sort(lateness.begin(), lateness.end());
  double mean = 0;
  for (int64_t l : lateness) mean += static_cast<double>(l);
  if (!lateness.empty()) mean /= static_cast<double>(lateness.size());
  const int64_t early =
      std::count_if(lateness.begin(), lateness.end(), [](int64_t l) { return l < 0; });

  std::printf("lateness_bench: %lld jobs over %lld ms, 1 scheduler, %lld promote rounds\n",
              static_cast<long long>(n), static_cast<long long>(spread_ms),
              static_cast<long long>(stats.promote_rounds));
  std::printf(
      "  lateness (updated - run_at, ms): p50 %lld  p90 %lld  p99 %lld  p99.9 %lld  "
      "max %lld  mean %.3f  early %lld  not pending %d\n",
      static_cast<long long>(Percentile(lateness, 50)),
      static_cast<long long>(Percentile(lateness, 90)),
      static_cast<long long>(Percentile(lateness, 99)),
      static_cast<long long>(Percentile(lateness, 99.9)),
      static_cast<long long>(lateness.empty() ? 0 : lateness.back()), mean,
      static_cast<long long>(early), not_pending);
  std::printf(
      "{\"bench\":\"lateness\",\"jobs\":%lld,\"spread_ms\":%lld,\"promote_rounds\":%lld,"
      "\"p50_ms\":%lld,\"p90_ms\":%lld,\"p99_ms\":%lld,\"p999_ms\":%lld,\"max_ms\":%lld,"
      "\"mean_ms\":%.3f,\"early\":%lld,\"not_pending\":%d,\"promoted\":%lld,\"errors\":%lld}\n",
      static_cast<long long>(n), static_cast<long long>(spread_ms),
      static_cast<long long>(stats.promote_rounds),
      static_cast<long long>(Percentile(lateness, 50)),
      static_cast<long long>(Percentile(lateness, 90)),
      static_cast<long long>(Percentile(lateness, 99)),
      static_cast<long long>(Percentile(lateness, 99.9)),
      static_cast<long long>(lateness.empty() ? 0 : lateness.back()), mean,
      static_cast<long long>(early), not_pending, static_cast<long long>(stats.promoted),
      static_cast<long long>(stats.errors));
  return (early == 0 && not_pending == 0) ? 0 : 1;
}

}  // namespace
}  // namespace bananas

int main() { return bananas::Main(); }
