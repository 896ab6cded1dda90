// lateness_bench: how late one Scheduler makes delayed jobs pending (SPEC §11: p99 < 5 ms).
//
// Enqueues N delayed jobs (env N, default 2000) whose run_at is spread over SPREAD_MS (default
// 10000) at random millisecond offsets, starting START_MS (default 2000) from now so that the
// enqueue and the scheduler's start are over before the first is due. One Scheduler promotes
// them.
//
// Method (since issue 14, key layout 2): promotion writes nothing about a job (promote_due.lua
// only moves its id from the `scheduled` zset to the tail of its pending list), so there is
// no promotion time to read back afterwards. Instead this program's main thread is a
// consumer: from the scheduler's start it calls Broker::Dequeue (up to 1000 jobs, on a
// connection of its own, lease 1 h so that nothing it holds expires and comes back) in a
// loop, sleeping POLL_US (default 100) µs after a call that leased nothing, and stamps each
// job with the wall-clock time (µs) at which the call that leased it returned: when it was
// seen leasable. lateness = that time − run_at, floored to whole ms (run_at is an exact
// millisecond). Resolution: the job was not yet pending when the previous call's script ran
// and was when this call's ran, so the stamp is late by at most the time from the previous
// call's send to this call's return ("poll" in the output: mean and max over the run) and
// is never early: a figure of L ms means a true lateness in (L − poll, L + 1) ms. The
// consumer's calls also load Redis and the CPU the scheduler runs on. Before issue 14 the
// bench read the `updated` time promote_due.lua stamped on each job hash, which had no
// polling error. Both clocks are this process's (NowUnixMs/NowUnixUs).
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
#include <unordered_map>
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
  const int64_t poll_sleep_us = EnvInt("POLL_US", 100);

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

  // The consumer: a connection and a Broker of its own, leases long enough to outlast the run.
  auto consumer_conn = redis::Connection::Open(*redis_options);
  if (!consumer_conn) Die("connect", consumer_conn.status());
  if (Status s = (*consumer_conn)->EnsureConnected(); !s.ok()) Die("connect", s);
  queue::BrokerOptions consumer_options = broker_options;
  consumer_options.lease_ms = 3'600'000;
  queue::Broker consumer(**consumer_conn, consumer_options);

  scheduler::SchedulerOptions options;
  options.redis_url = url;
  options.prefix = prefix;
  auto sched = scheduler::Scheduler::Create(options);
  if (!sched) Die("scheduler", sched.status());
  if (Status s = (*sched)->Start(); !s.ok()) Die("scheduler start", s);

  // Poll until every job was seen, or the last run_at plus a margin has passed (the length of
  // the experiment, not a synchronisation). A job not seen by then is reported as not
  // pending: more than a second late.
  constexpr int64_t kMarginMs = 1000;
  constexpr int kBatch = 1000;
  std::unordered_map<std::string, int64_t> seen_us;  // id -> when first leased
  std::unordered_map<std::string, int64_t> run_at_ms;
  seen_us.reserve(specs.size());
  run_at_ms.reserve(specs.size());
  int64_t polls = 0;
  int64_t poll_total_us = 0;
  int64_t poll_max_us = 0;
  int64_t previous_send_us = -1;
  while (seen_us.size() < enqueued->size() && NowUnixMs() < last_due + kMarginMs) {
    const int64_t send_us = NowUnixUs();
    auto leased = consumer.Dequeue({"lateness", kBatch});
    const int64_t returned_us = NowUnixUs();
    if (!leased) Die("dequeue", leased.status());
    if (previous_send_us >= 0) {
      ++polls;
      poll_total_us += returned_us - previous_send_us;
      poll_max_us = std::max(poll_max_us, returned_us - previous_send_us);
    }
    previous_send_us = send_us;
    for (const auto& job : *leased) {
      if (seen_us.emplace(job.id, returned_us).second) run_at_ms[job.id] = job.run_at_unix_ms;
    }
    if (leased->empty()) std::this_thread::sleep_for(std::chrono::microseconds(poll_sleep_us));
  }
  (*sched)->Stop();
  (*sched)->Wait();
  scheduler::SchedulerStats stats = (*sched)->stats();

  // lateness of every job seen, floored to whole milliseconds.
  std::vector<int64_t> lateness;
  std::vector<int64_t> lateness_us;
  lateness.reserve(specs.size());
  lateness_us.reserve(specs.size());
  for (const auto& [id, at_us] : seen_us) {
    const int64_t late_us = at_us - run_at_ms[id] * 1000;
    lateness_us.push_back(late_us);
    lateness.push_back(late_us >= 0 ? late_us / 1000 : -((-late_us + 999) / 1000));
  }
  const int not_pending = static_cast<int>(enqueued->size() - seen_us.size());
  std::sort(lateness.begin(), lateness.end());
  // The mean from the microsecond stamps (the percentiles are floored to whole ms).
  double mean = 0;
  for (int64_t l : lateness_us) mean += static_cast<double>(l) / 1000.0;
  if (!lateness_us.empty()) mean /= static_cast<double>(lateness_us.size());
  const double poll_mean_us =
      polls == 0 ? 0.0 : static_cast<double>(poll_total_us) / static_cast<double>(polls);
  const int64_t early =
      std::count_if(lateness.begin(), lateness.end(), [](int64_t l) { return l < 0; });

  std::printf("lateness_bench: %lld jobs over %lld ms, 1 scheduler, %lld promote rounds\n",
              static_cast<long long>(n), static_cast<long long>(spread_ms),
              static_cast<long long>(stats.promote_rounds));
  std::printf(
      "  lateness (seen leasable - run_at, ms): p50 %lld  p90 %lld  p99 %lld  p99.9 %lld  "
      "max %lld  mean %.3f  early %lld  not pending %d\n",
      static_cast<long long>(Percentile(lateness, 50)),
      static_cast<long long>(Percentile(lateness, 90)),
      static_cast<long long>(Percentile(lateness, 99)),
      static_cast<long long>(Percentile(lateness, 99.9)),
      static_cast<long long>(lateness.empty() ? 0 : lateness.back()), mean,
      static_cast<long long>(early), not_pending);
  std::printf(
      "  poll (resolution: previous send -> return): %lld calls, mean %.0f us, max %lld us\n",
      static_cast<long long>(polls), poll_mean_us, static_cast<long long>(poll_max_us));
  std::printf(
      "{\"bench\":\"lateness\",\"jobs\":%lld,\"spread_ms\":%lld,\"promote_rounds\":%lld,"
      "\"p50_ms\":%lld,\"p90_ms\":%lld,\"p99_ms\":%lld,\"p999_ms\":%lld,\"max_ms\":%lld,"
      "\"mean_ms\":%.3f,\"early\":%lld,\"not_pending\":%d,\"promoted\":%lld,\"errors\":%lld,"
      "\"poll_mean_us\":%.0f,\"poll_max_us\":%lld}\n",
      static_cast<long long>(n), static_cast<long long>(spread_ms),
      static_cast<long long>(stats.promote_rounds),
      static_cast<long long>(Percentile(lateness, 50)),
      static_cast<long long>(Percentile(lateness, 90)),
      static_cast<long long>(Percentile(lateness, 99)),
      static_cast<long long>(Percentile(lateness, 99.9)),
      static_cast<long long>(lateness.empty() ? 0 : lateness.back()), mean,
      static_cast<long long>(early), not_pending, static_cast<long long>(stats.promoted),
      static_cast<long long>(stats.errors), poll_mean_us, static_cast<long long>(poll_max_us));
  return (early == 0 && not_pending == 0) ? 0 : 1;
}

}  // namespace
}  // namespace bananas

int main() { return bananas::Main(); }
