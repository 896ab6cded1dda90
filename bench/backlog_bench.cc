// backlog_bench: what one big backlog costs everything else (issue 13). Three measurements,
// against a redis-server this program starts (no persistence):
//
//   cancel    N pending jobs in one list (env N, default 1,000,000: N/2 of type "noop", one
//             "email", N/2 "noop"), then 200 cancels: the 100 oldest (the far end for a
//             search from the head) and 100 at random. Redis time of each cancel.lua call
//             from SLOWLOG, with every command logged (slowlog-log-slower-than 0).
//   filtered  type-filtered dequeues for "email" until the one email job, in the middle of
//             the N, is leased: how many calls, and the Redis time of each.
//   fairness  BACKLOG jobs (default 200,000) due at T on queue a_big, one job due at T and
//             one at T + 100 ms on queue b_small, one Scheduler: how late b_small's jobs are
//             made pending, and when a_big's last job was.
//
// Run: build/release/bench/backlog_bench            (N=100000 BACKLOG=50000 for a quick run)
// Redis time is the server's own measure of each EVALSHA (script and the commands it runs),
// not the round trip.
//
// Fairness method (since issue 14, key layout 2): promotion writes nothing about a job
// (promote_due.lua moves ids from the `scheduled` zset to the pending list), so there is no
// promotion time to read back. From the scheduler's start the main thread polls, sleeping
// 100 µs between rounds: Broker::Dequeue of b_small (a job is stamped, wall clock µs, when
// the call that leased it returns: the moment it was seen leasable), and Broker::Counts of
// a_big until its `scheduled` count is 0 (promote_due.lua removes ids from `scheduled` and
// pushes them pending in one step, so that is when its last job became pending). A stamp is
// late by at most the time from the previous round's send to this round's return (printed
// as "poll": mean and max over the run) and never early. Before issue 14 the
// bench read the `updated` time promote_due.lua stamped on each job hash. a_big is only
// counted, not dequeued: 200,000 dequeues would compete with the promotion being measured.
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
    std::fprintf(stderr, "backlog_bench: %s must be a positive integer\n", name);
    std::exit(2);
  }
  return parsed;
}

[[noreturn]] void Die(const std::string& what, const Status& status) {
  std::fprintf(stderr, "backlog_bench: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

redis::Reply Run(redis::Connection& c, const std::vector<std::string>& args) {
  redis::Command cmd(args.front());
  for (size_t i = 1; i < args.size(); ++i) cmd.Arg(args[i]);
  auto r = c.Run(cmd);
  if (!r) Die(args.front(), r.status());
  if (r->is_error()) Die(args.front(), Status::Internal(r->str));
  return std::move(*r);
}

// Redis's own time (µs) for each script call `call` makes: every command is logged
// (slowlog-log-slower-than 0; Redis 7 logs the commands a script runs too, so the log is
// emptied before each measured call and read after it).
template <typename Call>
int64_t ScriptTime(redis::Connection& c, Call&& call) {
  Run(c, {"SLOWLOG", "RESET"});
  call();
  redis::Reply log = Run(c, {"SLOWLOG", "GET", "100000"});
  int64_t us = 0;
  for (const auto& entry : log.elements) {
    const auto& e = entry.elements;
    if (e.size() < 4 || e[3].elements.empty()) continue;
    std::string name = e[3].elements[0].str;
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    if (name == "evalsha" || name == "eval") us += e[2].integer;
  }
  return us;
}

void LogEverything(redis::Connection& c) {
  Run(c, {"CONFIG", "SET", "slowlog-log-slower-than", "0"});
  Run(c, {"CONFIG", "SET", "slowlog-max-len", "100000"});
}

void Report(const char* what, std::vector<int64_t> us) {
  if (us.empty()) {
    std::printf("  %-34s no calls logged\n", what);
    return;
  }
  int64_t total = 0;
  for (int64_t u : us) total += u;
  std::sort(us.begin(), us.end());
  std::printf("  %-34s calls %zu  mean %.1f µs  p50 %lld  p99 %lld  max %lld µs\n", what, us.size(),
              static_cast<double>(total) / static_cast<double>(us.size()),
              static_cast<long long>(bench::PercentileOfSorted(us, 50)),
              static_cast<long long>(bench::PercentileOfSorted(us, 99)),
              static_cast<long long>(us.back()));
}

std::vector<JobSpec> Jobs(const std::string& name, const std::string& queue, int64_t n,
                          int64_t run_at = 0) {
  JobSpec spec;
  spec.name = name;
  spec.queue = queue;
  spec.run_at_unix_ms = run_at;
  return std::vector<JobSpec>(static_cast<size_t>(n), spec);
}

void CancelAndFiltered(redis::Connection& c, queue::Broker& broker, int64_t n) {
  std::printf("backlog_bench: %lld pending jobs in one list\n", static_cast<long long>(n));
  auto older = broker.EnqueueBatch(Jobs("noop", "default", n / 2));
  if (!older) Die("enqueue", older.status());
  auto email = broker.Enqueue(Jobs("email", "default", 1).front());
  if (!email) Die("enqueue", email.status());
  auto newer = broker.EnqueueBatch(Jobs("noop", "default", n - n / 2));
  if (!newer) Die("enqueue", newer.status());

  std::vector<std::string> targets;
  for (size_t i = 0; i < 100 && i < older->size(); ++i) targets.push_back((*older)[i].id);
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<size_t> pick(100, newer->size() - 1);
  for (int i = 0; i < 100; ++i) targets.push_back((*newer)[pick(rng)].id);
  LogEverything(c);
  (void)broker.Cancel("01JD0000000000000000000000-default");  // loads the script
  std::vector<int64_t> cancels;
  for (const auto& id : targets) {
    cancels.push_back(ScriptTime(c, [&] {
      auto r = broker.Cancel(id);
      if (!r) Die("cancel", r.status());
    }));
  }
  Report("cancel, 100 oldest:", std::vector<int64_t>(cancels.begin(), cancels.begin() + 100));
  Report("cancel, 100 at random:", std::vector<int64_t>(cancels.begin() + 100, cancels.end()));
  auto counts = broker.Counts("default");
  if (!counts) Die("counts", counts.status());
  std::printf("  pending after the cancels (Counts): %lld\n",
              static_cast<long long>(counts->pending[static_cast<int>(Priority::kNormal)]));

  (void)broker.Dequeue({"warm-up", 1, {"email"}, {}});  // loads the script
  std::vector<int64_t> filtered;
  int calls = 0;
  for (bool leased = false; !leased;) {
    filtered.push_back(ScriptTime(c, [&] {
      auto r = broker.Dequeue({"default", 1, {"email"}, {}});
      if (!r) Die("dequeue", r.status());
      leased = !r->empty();
    }));
    ++calls;
    if (calls > 100 * (n / broker.options().type_filter_scan + 1)) {
      std::printf("  filtered dequeue: the email job was not leased\n");
      return;
    }
  }
  std::printf(
      "  filtered dequeue reached the email job in the middle after %d calls "
      "(W = %d)\n",
      calls, broker.options().type_filter_scan);
  Report("filtered dequeue, each call:", filtered);
}

void Fairness(redis::Connection& c, queue::Broker& broker, const std::string& url, int64_t backlog,
              int64_t start_ms) {
  Run(c, {"FLUSHALL"});
  std::printf(
      "backlog_bench: %lld jobs due at T on a_big; b_small: one due at T, one at "
      "T + 100 ms\n",
      static_cast<long long>(backlog));
  const int64_t due = NowUnixMs() + start_ms;
  auto big = broker.EnqueueBatch(Jobs("noop", "a_big", backlog, due));
  if (!big) Die("enqueue", big.status());
  auto now_job = broker.Enqueue(Jobs("noop", "b_small", 1, due).front());
  auto later_job = broker.Enqueue(Jobs("noop", "b_small", 1, due + 100).front());
  if (!now_job || !later_job) Die("enqueue", Status::Internal("b_small"));
  if (NowUnixMs() >= due - 500) {
    std::fprintf(stderr, "backlog_bench: enqueue took longer than START_MS; raise it\n");
    std::exit(1);
  }
  scheduler::SchedulerOptions options;
  options.redis_url = url;
  options.cron = false;
  auto sched = scheduler::Scheduler::Create(options);
  if (!sched) Die("scheduler", sched.status());
  if (Status s = (*sched)->Start(); !s.ok()) Die("scheduler start", s);
  // Poll until both of b_small's jobs were seen and a_big is drained (or a minute passes).
  int64_t now_seen_us = -1;
  int64_t later_seen_us = -1;
  int64_t big_drained_us = -1;
  int64_t rounds = 0;
  int64_t round_total_us = 0;
  int64_t round_max_us = 0;
  int64_t previous_send_us = -1;
  const int64_t give_up_ms = due + 60'000;
  while ((now_seen_us < 0 || later_seen_us < 0 || big_drained_us < 0) && NowUnixMs() < give_up_ms) {
    const int64_t send_us = NowUnixUs();
    auto leased = broker.Dequeue({"b_small", 2});
    if (!leased) Die("dequeue", leased.status());
    int64_t returned_us = NowUnixUs();
    for (const auto& job : *leased) {
      if (job.id == now_job->id && now_seen_us < 0) now_seen_us = returned_us;
      if (job.id == later_job->id && later_seen_us < 0) later_seen_us = returned_us;
    }
    if (big_drained_us < 0) {
      auto counts = broker.Counts("a_big");
      if (!counts) Die("counts", counts.status());
      returned_us = NowUnixUs();
      if (counts->scheduled == 0) big_drained_us = returned_us;
    }
    if (previous_send_us >= 0) {
      ++rounds;
      round_total_us += returned_us - previous_send_us;
      round_max_us = std::max(round_max_us, returned_us - previous_send_us);
    }
    previous_send_us = send_us;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  (*sched)->Stop();
  (*sched)->Wait();

  // µs stamp - due ms, floored to whole ms.
  auto late_ms = [](int64_t seen_us, int64_t due_ms) {
    const int64_t us = seen_us - due_ms * 1000;
    return static_cast<long long>(us >= 0 ? us / 1000 : -((-us + 999) / 1000));
  };
  if (big_drained_us < 0) {
    std::printf("  a_big: %lld jobs still scheduled a minute after T\n",
                static_cast<long long>(backlog));
  } else {
    std::printf("  a_big: last of %lld promoted at T + %lld ms\n", static_cast<long long>(backlog),
                late_ms(big_drained_us, due));
  }
  if (now_seen_us < 0 || later_seen_us < 0) {
    std::printf("  b_small: a job was not seen pending within a minute of T\n");
  } else {
    std::printf("  b_small due at T: promoted %lld ms late; due at T + 100 ms: %lld ms late\n",
                late_ms(now_seen_us, due), late_ms(later_seen_us, due + 100));
  }
  std::printf(
      "  poll (resolution: previous send -> return): %lld rounds, mean %.0f us, max %lld us\n",
      static_cast<long long>(rounds),
      rounds == 0 ? 0.0 : static_cast<double>(round_total_us) / static_cast<double>(rounds),
      static_cast<long long>(round_max_us));
}

int Main() {
  const int64_t n = EnvInt("N", 1'000'000);
  const int64_t backlog = EnvInt("BACKLOG", 200'000);
  const int64_t start_ms = EnvInt("START_MS", 15'000);
  auto server = testing::RedisServer::Start();
  if (!server) Die("redis-server", server.status());
  const std::string url = (*server)->url();
  auto redis_options = redis::Options::FromUrl(url);
  if (!redis_options) Die("url", redis_options.status());
  auto conn = redis::Connection::Open(*redis_options);
  if (!conn) Die("connect", conn.status());
  queue::Broker broker(**conn, queue::BrokerOptions{});
  CancelAndFiltered(**conn, broker, n);
  Fairness(**conn, broker, url, backlog, start_ms);
  return 0;
}

}  // namespace
}  // namespace bananas

int main() { return bananas::Main(); }
