// Scheduler: three threads, each with its own Redis connection and Broker.
//
//   PromoteLoop     one round = re-read the registry when queue_refresh has passed, then
//                   one promote_due.lua call (at most promote_batch jobs) on every queue due
//                   by now (on every known queue after a token, a registry read or an
//                   error). It then sleeps until the earliest next_due of all queues (to the
//                   millisecond; at once when a queue had more than a batch due), at most
//                   until the next registry read, or until generation_ changes. So queues
//                   take turns: a big backlog in one delays the others by one batch a round.
//   WatchTimerLoop  BLPOPs the queues' timer lists (enqueue.lua and fail.lua push a token
//                   when a due time earlier than every known one appears) and bumps
//                   generation_ on a token; every kTimerWait it also re-reads the registry, so
//                   a new queue is watched and promoted within about a second.
//   RecoverLoop     every recovery_interval, recover_expired.lua on every known queue,
//                   round-robin in batches of recover_batch like the promotion; then
//                   trim_dead.lua (the DLQ bounds, DLQ_MAX and DLQ_TTL) on each.
//   CronLoop        fires due cron occurrences (cron_runner.h), then sleeps until the earliest
//                   next_run of any schedule, at most queue_refresh, or until generation_
//                   changes: schedule_put.lua and schedule_pause.lua push a token on the
//                   schedules' wake list, which the timer watcher blocks on too.
//
// Why a separate watcher rather than a fixed polling period: a delayed job must be pending
// within a few ms of its run_at (SPEC §11, lateness p99 < 5 ms). Polling that often would cost
// every scheduler hundreds of round trips a second per queue; sleeping until the known next
// due time costs one round per due time, and the timer token covers the one case the sleeper
// cannot know about: a job due before the time it is sleeping towards.
//
// A wake-up is never lost: the promotion loop reads generation_ before its round and waits
// for it to differ, so a token that arrives during a round causes one more round; a token
// pushed while no watcher is blocked stays in its list until the next BLPOP.
//
// Errors (Redis down, restarting, answering LOADING) are counted in stats().errors, logged to
// stderr at most once a second, and retried after a short capped backoff; no loop ends on an
// error. Only Stop() ends them.
#include "scheduler/scheduler.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "queue/broker.h"
#include "redis/backoff.h"
#include "redis/connection.h"
#include "redis/errors.h"
#include "redis/options.h"
#include "scheduler/cron_runner.h"

namespace bananas::scheduler {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Longest BLPOP of the timer watcher. Bounds how late Stop() and a newly registered queue
// are noticed; one idle BLPOP (plus one SMEMBERS) a second per scheduler is cheap.
constexpr std::chrono::milliseconds kTimerWait{1000};
// Connection sleeps, uninterruptibly, for its reconnect backoff before reconnecting (default
// cap 5 s). Capped here so that Stop() is honoured within about a second while Redis is down,
// and a restarted Redis is found again within a second.
constexpr std::chrono::milliseconds kReconnectMax{1000};
// Our own pause after a failed round. Needed on top of Connection's pacing because an error
// reply (LOADING after a restart, OOM, a script error) leaves the connection up: without it
// the loop would spin on the error.
constexpr std::chrono::milliseconds kErrorBackoffInitial{50};
constexpr std::chrono::milliseconds kErrorBackoffMax{1000};
// At most one error line on stderr per this period; the others are counted in the next line.
constexpr std::chrono::seconds kLogPeriod{1};

Status ValidateOptions(const SchedulerOptions& options) {
  if (options.prefix.empty()) return Status::InvalidArgument("scheduler: prefix is empty");
  if (options.lease_timeout.count() <= 0) {
    return Status::InvalidArgument("scheduler: lease_timeout must be > 0");
  }
  if (options.recovery_interval.count() <= 0) {
    return Status::InvalidArgument("scheduler: recovery_interval must be > 0");
  }
  if (options.queue_refresh.count() <= 0) {
    return Status::InvalidArgument("scheduler: queue_refresh must be > 0");
  }
  if (options.promote_batch < 1) {
    return Status::InvalidArgument("scheduler: promote_batch must be >= 1");
  }
  if (options.recover_batch < 1) {
    return Status::InvalidArgument("scheduler: recover_batch must be >= 1");
  }
  if (options.cron_batch < 1) {
    return Status::InvalidArgument("scheduler: cron_batch must be >= 1");
  }
  if (options.max_recoveries < 0) {
    return Status::InvalidArgument("scheduler: max_recoveries must be >= 0");
  }
  if (options.dlq_max < 0) return Status::InvalidArgument("scheduler: dlq_max must be >= 0");
  if (options.dlq_ttl.count() < 0) {
    return Status::InvalidArgument("scheduler: dlq_ttl must be >= 0");
  }
  if (options.trim_batch < 1) {
    return Status::InvalidArgument("scheduler: trim_batch must be >= 1");
  }
  return Status::Ok();
}

// The steady-clock instant at which the wall clock reads `due_unix_ms`. Computed in
// microseconds so that the wait ends at the start of that millisecond, not up to 1 ms before
// it: promote_due.lua compares whole milliseconds (run_at <= now), and waking early would
// cost an empty round and a second wait.
SteadyClock::time_point SteadyDeadlineOf(int64_t due_unix_ms) {
  int64_t delta_us = due_unix_ms * 1000 - NowUnixUs();
  return SteadyClock::now() + std::chrono::microseconds(std::max<int64_t>(delta_us, 0));
}

// Capped exponential pause after consecutive failed rounds of one loop.
class ErrorPacer {
 public:
  ErrorPacer() : backoff_(kErrorBackoffInitial, kErrorBackoffMax), rng_(std::random_device{}()) {}
  std::chrono::milliseconds Next() {
    return backoff_.Next(std::uniform_real_distribution<double>(0.0, 1.0)(rng_));
  }
  void Reset() { backoff_.Reset(); }

 private:
  redis::Backoff backoff_;
  std::mt19937_64 rng_;
};

}  // namespace

class Scheduler::Impl {
 public:
  struct Channel {  // one thread's connection and the Broker on it
    std::unique_ptr<redis::Connection> connection;
    std::unique_ptr<queue::Broker> broker;
  };

  Impl(SchedulerOptions options, Channel promote, Channel watch, Channel recover, Channel cron)
      : options_(std::move(options)),
        promote_(std::move(promote)),
        watch_(std::move(watch)),
        recover_(std::move(recover)),
        cron_(std::move(cron)),
        schedules_(*cron_.connection, options_.prefix),
        cron_runner_(*cron_.broker, schedules_, Clock::System()),
        wake_key_(schedules_.keys().ScheduleWake()) {}

  ~Impl() {
    Stop();
    Wait();
  }

  Status Start() {
    if (started_) return Status::FailedPrecondition("scheduler.Start: already started");
    started_ = true;
    try {
      threads_.emplace_back([this] { PromoteLoop(); });
      threads_.emplace_back([this] { WatchTimerLoop(); });
      threads_.emplace_back([this] { RecoverLoop(); });
      if (options_.cron) threads_.emplace_back([this] { CronLoop(); });
    } catch (const std::system_error& e) {
      Stop();
      Wait();
      return Status::Internal(std::string("scheduler.Start: cannot start a thread: ") + e.what());
    }
    return Status::Ok();
  }

  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }

  void Wait() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  SchedulerStats stats() const {
    SchedulerStats s;
    s.promoted = promoted_.load(std::memory_order_relaxed);
    s.recovered = recovered_.load(std::memory_order_relaxed);
    s.recovered_dead = recovered_dead_.load(std::memory_order_relaxed);
    s.dlq_trimmed = dlq_trimmed_.load(std::memory_order_relaxed);
    s.promote_rounds = promote_rounds_.load(std::memory_order_relaxed);
    s.errors = errors_.load(std::memory_order_relaxed);
    s.cron_fired = cron_fired_.load(std::memory_order_relaxed);
    s.cron_skipped = cron_skipped_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  // --- Promotion thread.

  void PromoteLoop() {
    ErrorPacer pacer;
    SteadyClock::time_point next_refresh{};  // the first round reads the registry
    // Each queue's earliest due time as its last promote_due.lua call reported (-1: none).
    // A round calls only the queues due by then, unless something it cannot see may have
    // made a due time earlier: a timer token (generation_), a registry read, or an error.
    // Then it calls every queue. Due times only move earlier through enqueue.lua and
    // fail.lua, which push a timer token when they do.
    std::map<std::string, int64_t> next_due;
    bool visit_all = true;
    uint64_t visited_generation = 0;
    while (true) {
      uint64_t seen_generation = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
        // Read before the round: a token that arrives during it makes the wait below return
        // at once, so the job it announces is not slept past.
        seen_generation = generation_;
      }
      if (seen_generation != visited_generation) visit_all = true;
      promote_rounds_.fetch_add(1, std::memory_order_relaxed);
      bool failed = false;
      if (SteadyClock::now() >= next_refresh) {
        Status s = RefreshQueues(*promote_.broker, /*wake_promoter=*/false);
        if (s.ok()) {
          next_refresh = SteadyClock::now() + options_.queue_refresh;
          visit_all = true;
        } else {
          ReportError(s);
          failed = true;
        }
      }
      // Round-robin: one call per queue, at most promote_batch jobs each. A queue with more
      // due than that reports a due time already past, so the wait below ends at once and
      // the next round goes on with it, after every other due queue had its turn.
      const int64_t now_ms = NowUnixMs();
      int64_t next_due_unix_ms = -1;
      for (const auto& queue : KnownQueues()) {
        auto known = next_due.find(queue);
        if (visit_all || known == next_due.end() ||
            (known->second >= 0 && known->second <= now_ms)) {
          auto r = promote_.broker->PromoteDue(queue, options_.promote_batch);
          if (!r) {
            ReportError(r.status());
            failed = true;
            if (known != next_due.end()) next_due.erase(known);
            if (redis::IsRetryable(r.status())) break;  // Redis is down: the others would fail too
            continue;
          }
          promoted_.fetch_add(r->moved, std::memory_order_relaxed);
          known = next_due.insert_or_assign(queue, r->next_due_unix_ms).first;
        }
        int64_t due = known->second;
        if (due >= 0 && (next_due_unix_ms < 0 || due < next_due_unix_ms)) next_due_unix_ms = due;
        if (Stopping()) return;
      }
      visited_generation = seen_generation;
      visit_all = failed;  // after an error, look at every queue again

      SteadyClock::time_point deadline;
      if (failed) {
        deadline = SteadyClock::now() + pacer.Next();
      } else {
        pacer.Reset();
        // Capped at the next registry read: that also bounds how long a lost token (a
        // scheduler that popped it and died) can delay a due job, whoever else is running.
        deadline = next_refresh;
      }
      if (next_due_unix_ms >= 0) deadline = std::min(deadline, SteadyDeadlineOf(next_due_unix_ms));
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_until(lock, deadline, [&] { return stop_ || generation_ != seen_generation; });
    }
  }

  // --- Timer watcher thread.

  void WatchTimerLoop() {
    ErrorPacer pacer;
    SteadyClock::time_point next_refresh{};
    while (!Stopping()) {
      if (SteadyClock::now() >= next_refresh) {
        Status s = RefreshQueues(*watch_.broker, /*wake_promoter=*/true);
        if (!s.ok()) {
          ReportError(s);
          WaitForStopUntil(SteadyClock::now() + pacer.Next());
          continue;
        }
        next_refresh = SteadyClock::now() + kTimerWait;
      }
      // With cron on, the key list is never empty: the schedules' wake list is always
      // watched, so a schedule added before any queue exists still wakes the cron thread.
      std::vector<std::string> queues = KnownQueues();
      if (queues.empty() && !options_.cron) {
        // No list to block on: look at the registry again in a second, or sooner if another
        // thread finds a queue.
        uint64_t seen_version = 0;
        std::unique_lock<std::mutex> lock(mu_);
        seen_version = queues_version_;
        cv_.wait_until(lock, next_refresh,
                       [&] { return stop_ || queues_version_ != seen_version; });
        continue;
      }
      auto woken =
          watch_.broker->WaitForTimer(*watch_.connection, queues, kTimerWait,
                                      options_.cron ? wake_key_ : std::string());
      if (!woken) {
        ReportError(woken.status());
        WaitForStopUntil(SteadyClock::now() + pacer.Next());
        continue;
      }
      pacer.Reset();
      if (*woken) WakePromoter();
    }
  }

  // --- Recovery thread.

  void RecoverLoop() {
    while (true) {
      auto sweep_start = SteadyClock::now();
      // The sweep reads the registry itself, so recovery does not depend on the promotion
      // thread being healthy. One SMEMBERS per sweep.
      Status s = RefreshQueues(*recover_.broker, /*wake_promoter=*/true);
      if (!s.ok()) ReportError(s);
      if (s.ok()) {
        s = LookAfterRegistry(*recover_.broker);
        if (!s.ok()) ReportError(s);
      }
      // Round-robin: one call per queue, at most recover_batch leases each; the queues whose
      // call came back full go round again, so one queue's big backlog delays the others'
      // expired leases by one batch, not by the whole backlog.
      std::vector<std::string> queues = KnownQueues();
      while (!queues.empty()) {
        std::vector<std::string> more;
        bool down = false;
        for (const auto& queue : queues) {
          auto full = RecoverOnce(queue);
          if (!full) {
            ReportError(full.status());
            if (redis::IsRetryable(full.status())) {
              down = true;
              break;
            }
          } else if (*full) {
            more.push_back(queue);
          }
          if (Stopping()) return;
        }
        if (down) break;
        queues = std::move(more);
      }
      // The DLQ bounds, each call bounded (TrimQueue).
      for (const auto& queue : KnownQueues()) {
        Status t = TrimQueue(queue);
        if (!t.ok()) {
          ReportError(t);
          if (redis::IsRetryable(t)) break;
        }
        if (Stopping()) return;
      }
      // Errors need no extra pause here: sweeps are already recovery_interval apart, and
      // Connection paces its reconnects.
      if (WaitForStopUntil(sweep_start + options_.recovery_interval)) return;
    }
  }

  // One recover_expired.lua call on `queue`; true if it came back full (more may be expired).
  Result<bool> RecoverOnce(const std::string& queue) {
    auto r = recover_.broker->RecoverExpired(queue, options_.recover_batch);
    if (!r) return r.status();
    recovered_.fetch_add(r->recovered, std::memory_order_relaxed);
    recovered_dead_.fetch_add(r->dead, std::memory_order_relaxed);
    if (options_.metrics != nullptr && r->recovered + r->dead > 0) {
      // The sweep does not read the jobs, so the series has no job type.
      obs::JobSeries& series = options_.metrics->Jobs(queue, "");
      series.Add(obs::JobEvent::kRecovered, static_cast<uint64_t>(r->recovered));
      series.Add(obs::JobEvent::kDead, static_cast<uint64_t>(r->dead));
      obs::Log(obs::LogLevel::kInfo, "expired leases recovered",
               {{"queue", queue}, {"recovered", r->recovered}, {"dead", r->dead}});
    }
    return r->recovered + r->dead >= options_.recover_batch;
  }

  // The DLQ bounds: a few bounded trim_dead.lua calls, so a large backlog is worked off over
  // several rounds instead of holding up the next queue's recovery.
  Status TrimQueue(const std::string& queue) {
    constexpr int kCallsPerRound = 10;
    if (options_.dlq_max == 0 && options_.dlq_ttl.count() == 0) return Status::Ok();
    for (int call = 0; call < kCallsPerRound && !Stopping(); ++call) {
      auto r = recover_.broker->TrimDead(queue, options_.trim_batch);
      if (!r) return r.status();
      if (r->trimmed() > 0) {
        dlq_trimmed_.fetch_add(r->trimmed(), std::memory_order_relaxed);
        if (options_.metrics != nullptr) {
          options_.metrics->AddDlqTrimmed(queue, static_cast<uint64_t>(r->trimmed()));
        }
        obs::Log(obs::LogLevel::kInfo, "dead jobs trimmed",
                 {{"queue", queue}, {"expired", r->expired}, {"over_cap", r->over_cap}});
      }
      if (!r->more) break;
    }
    return Status::Ok();
  }

  // --- Cron thread.

  void CronLoop() {
    ErrorPacer pacer;
    bool applied = options_.schedules.empty();
    while (true) {
      uint64_t seen_generation = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
        seen_generation = generation_;  // read before the round, as PromoteLoop does
      }
      int64_t next_due_unix_ms = -1;
      bool failed = false;
      if (!applied) {
        Status s = cron_runner_.Apply(options_.schedules);
        applied = s.ok();
        if (!s.ok()) {
          ReportError(s);
          failed = true;
        }
      }
      while (!failed) {
        auto round = cron_runner_.RunDue(options_.cron_batch);
        if (!round) {
          ReportError(round.status());
          failed = true;
          break;
        }
        cron_fired_.fetch_add(round->fired, std::memory_order_relaxed);
        cron_skipped_.fetch_add(round->skipped, std::memory_order_relaxed);
        next_due_unix_ms = round->next_due_unix_ms;
        // A full batch: more may be due now.
        if (round->fired + round->skipped < options_.cron_batch || Stopping()) break;
      }
      // Capped at queue_refresh: a wake token popped by another scheduler (that then died)
      // delays a changed schedule by at most that long.
      SteadyClock::time_point deadline =
          SteadyClock::now() + (failed ? pacer.Next() : options_.queue_refresh);
      if (!failed) pacer.Reset();
      if (!failed && next_due_unix_ms >= 0) {
        deadline = std::min(deadline, SteadyDeadlineOf(next_due_unix_ms));
      }
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_until(lock, deadline, [&] { return stop_ || generation_ != seen_generation; });
    }
  }

  // --- Shared helpers; each takes mu_ itself.

  // Reads the registry and adds any new queue to the known set. Queues leave the known set
  // only when this scheduler prunes them (LookAfterRegistry): a Redis that lost its data
  // may not hold a queue that is still used until its users re-assert it. With wake_promoter, a new queue also triggers a promotion round.
  Status RefreshQueues(queue::Broker& broker, bool wake_promoter) {
    auto found = broker.Queues();
    if (!found) return found.status();
    std::lock_guard<std::mutex> lock(mu_);
    bool grew = false;
    for (auto& q : *found) grew |= queues_.insert(std::move(q)).second;
    if (grew) {
      ++queues_version_;
      if (wake_promoter) ++generation_;
      cv_.notify_all();
    }
    return Status::Ok();
  }

  // Recovery thread only. Every queue_discovery: finds queues by their keys (the registry
  // may have lost some) and puts them back in the registry. Every minute, with
  // queue_prune_after set: drops queues that are empty and unused that long, here and in the
  // registry. A pruned queue used again is re-asserted by its user (Broker::AssertQueues).
  Status LookAfterRegistry(queue::Broker& broker) {
    auto now = SteadyClock::now();
    if (now >= next_discovery_) {
      auto found = broker.DiscoverQueues();
      if (!found) return found.status();
      std::vector<std::string> missing;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& q : *found) {
          if (!queues_.contains(q)) missing.push_back(q);
        }
      }
      if (!missing.empty()) {
        BANANAS_RETURN_IF_ERROR(broker.AssertQueues(missing));
        obs::Log(obs::LogLevel::kWarn, "queues found by their keys, missing from the registry",
                 {{"count", static_cast<int64_t>(missing.size())}, {"first", missing.front()}});
        BANANAS_RETURN_IF_ERROR(RefreshQueues(broker, /*wake_promoter=*/true));
      }
      next_discovery_ = now + options_.queue_discovery;
    }
    if (options_.queue_prune_after.count() > 0 && now >= next_prune_) {
      for (const auto& q : KnownQueues()) {
        auto pruned = broker.PruneQueue(q, options_.queue_prune_after.count());
        if (!pruned) return pruned.status();
        if (!*pruned) continue;
        obs::Log(obs::LogLevel::kInfo, "queue pruned: empty and unused", {{"queue", q}});
        std::lock_guard<std::mutex> lock(mu_);
        queues_.erase(q);
        ++queues_version_;
      }
      next_prune_ = now + std::chrono::minutes(1);
    }
    return Status::Ok();
  }

  std::vector<std::string> KnownQueues() {
    std::lock_guard<std::mutex> lock(mu_);
    return {queues_.begin(), queues_.end()};
  }

  void WakePromoter() {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    cv_.notify_all();
  }

  bool Stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_;
  }

  // Waits until `deadline` or Stop(); true if stopping.
  bool WaitForStopUntil(SteadyClock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return stop_; });
  }

  void ReportError(const Status& status) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(log_mu_);
    auto now = SteadyClock::now();
    if (now < next_log_) {
      ++log_suppressed_;
      return;
    }
    next_log_ = now + kLogPeriod;
    obs::Log(obs::LogLevel::kWarn, "scheduler error",
             {{"error", status.ToString()}, {"suppressed", log_suppressed_}});
    log_suppressed_ = 0;
  }

  // Fixed after construction.
  const SchedulerOptions options_;
  // Each used by its own thread only.
  Channel promote_;
  Channel watch_;
  Channel recover_;
  Channel cron_;
  queue::ScheduleStore schedules_;  // on cron_'s connection; cron thread only
  CronRunner cron_runner_;          // cron thread only
  const std::string wake_key_;

  // Only by the thread calling Start/Stop/Wait.
  bool started_ = false;
  std::vector<std::thread> threads_;

  // Guarded by mu_; cv_ is notified on every change.
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  uint64_t generation_ = 0;       // bumped by timer tokens and newly found queues
  std::set<std::string> queues_;  // every queue seen in the registry
  // Recovery thread only: when LookAfterRegistry next scans and prunes.
  SteadyClock::time_point next_discovery_{};
  SteadyClock::time_point next_prune_{};
  uint64_t queues_version_ = 0;   // bumped when queues_ grows

  // Guarded by log_mu_.
  std::mutex log_mu_;
  SteadyClock::time_point next_log_{};
  int64_t log_suppressed_ = 0;

  std::atomic<int64_t> promoted_{0};
  std::atomic<int64_t> recovered_{0};
  std::atomic<int64_t> recovered_dead_{0};
  std::atomic<int64_t> dlq_trimmed_{0};
  std::atomic<int64_t> promote_rounds_{0};
  std::atomic<int64_t> errors_{0};
  std::atomic<int64_t> cron_fired_{0};
  std::atomic<int64_t> cron_skipped_{0};
};

Result<std::unique_ptr<Scheduler>> Scheduler::Create(const SchedulerOptions& options) {
  BANANAS_RETURN_IF_ERROR(ValidateOptions(options));
  auto redis_options = redis::Options::FromUrl(options.redis_url);
  if (!redis_options) return redis_options.status().WithContext("scheduler: redis_url");
  redis_options->reconnect_max = std::min(redis_options->reconnect_max, kReconnectMax);
  redis_options->metrics = options.metrics;

  queue::BrokerOptions broker_options;
  broker_options.prefix = options.prefix;
  broker_options.lease_ms = options.lease_timeout.count();
  broker_options.max_recoveries = options.max_recoveries;
  broker_options.dlq_max = options.dlq_max;
  broker_options.dlq_ttl_ms = options.dlq_ttl.count();

  // Connections never fail to open for an unreachable server (they reconnect on use), so a
  // scheduler started before Redis simply retries until it is up.
  auto open = [&]() -> Result<Impl::Channel> {
    auto connection = redis::Connection::Open(*redis_options);
    if (!connection) return connection.status().WithContext("scheduler");
    Impl::Channel channel;
    channel.connection = std::move(*connection);
    channel.broker = std::make_unique<queue::Broker>(*channel.connection, broker_options);
    return channel;
  };
  auto promote = open();
  if (!promote) return promote.status();
  auto watch = open();
  if (!watch) return watch.status();
  auto recover = open();
  if (!recover) return recover.status();
  auto cron = open();
  if (!cron) return cron.status();
  auto impl = std::make_unique<Impl>(options, std::move(*promote), std::move(*watch),
                                     std::move(*recover), std::move(*cron));
  return std::unique_ptr<Scheduler>(new Scheduler(std::move(impl)));
}

Scheduler::Scheduler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Scheduler::~Scheduler() = default;  // Impl's destructor stops and joins

Status Scheduler::Start() { return impl_->Start(); }
void Scheduler::Stop() { impl_->Stop(); }
void Scheduler::Wait() { impl_->Wait(); }
SchedulerStats Scheduler::stats() const { return impl_->stats(); }

}  // namespace bananas::scheduler
