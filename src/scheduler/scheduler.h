// Scheduler: moves due delayed and retry jobs to pending, and recovers expired leases.
//
// Three activities, each on its own thread with its own Redis connections:
//   promotion  sleeps until the earliest due time of any queue (to the millisecond), or
//              until a timer token says an earlier time appeared (enqueue of a delayed job,
//              a failed job's retry), then runs promote_due.lua for each queue.
//   recovery   every recovery_interval, runs recover_expired.lua for each queue, then
//              trim_dead.lua: the DLQ bounds (dlq_max, dlq_ttl), off the jobs' own path.
//   cron       fires due cron occurrences (cron_runner.h) and sleeps until the earliest
//              next_run of any schedule, or until a schedule is added or changed.
// The set of queues is the registry (<p>:queues), re-read every queue_refresh.
//
// Several schedulers may run at once: every step is one atomic script, so each due job is
// promoted once, each expired lease recovered once and each cron occurrence enqueued once,
// whoever gets there first.
//
// Thread safety: Start(), Stop() and Wait() from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bananas/status.h"
#include "cron/schedule.h"

namespace bananas::obs {
class Metrics;
}

namespace bananas::scheduler {

struct SchedulerOptions {
  std::string redis_url = "redis://127.0.0.1:6379/0";  // REDIS_URL
  std::string prefix = "bananas";                      // BANANAS_PREFIX
  // LEASE_TIMEOUT: recovered leases are those whose deadline passed. Kept equal to the
  // workers' value.
  std::chrono::milliseconds lease_timeout{std::chrono::seconds(30)};
  // How often the recovery sweep runs. An expired lease is back in its queue within
  // lease_timeout + recovery_interval of its worker's last heartbeat.
  std::chrono::milliseconds recovery_interval{std::chrono::seconds(5)};
  // How often the queue registry is re-read (new queues are also found by their timer).
  std::chrono::milliseconds queue_refresh{std::chrono::seconds(2)};
  // How often the recovery thread also looks for queues by their keys (SCAN), in case the
  // registry lost one (a failover, a restart without persistence): their delayed, retrying
  // and leased jobs are then still promoted and recovered. The first look is at start.
  std::chrono::milliseconds queue_discovery{std::chrono::minutes(5)};
  // QUEUE_PRUNE_AFTER: a queue that holds no job and that no service has used for this long
  // leaves the registry (checked once a minute). Zero: never.
  std::chrono::milliseconds queue_prune_after{std::chrono::hours(24 * 7)};
  // Most jobs moved per script call. Each round makes one call per queue (round-robin), and
  // the next round starts at once while some queue has more due: one queue's backlog delays
  // the others by one batch a round.
  int promote_batch = 1000;
  int recover_batch = 1000;
  int max_recoveries = 5;
  // DLQ_MAX and DLQ_TTL: after its recovery sweep of a queue, the recovery thread deletes the
  // oldest dead jobs beyond dlq_max and those dead longer than dlq_ttl (0: no bound), at most
  // trim_batch per script call and trim_batch * 10 per queue and round, so a large backlog
  // (a lowered DLQ_MAX) is worked off over several rounds without holding recovery up.
  int64_t dlq_max = 100'000;
  std::chrono::milliseconds dlq_ttl{std::chrono::hours(30 * 24)};
  int trim_batch = 1000;
  // Where recovered leases (bananas_jobs_recovered_total, and _dead_total for poison pills;
  // by queue, job_type empty), trimmed dead jobs (bananas_dlq_trimmed_total) and Redis round
  // trips are recorded. Null: nothing recorded.
  std::shared_ptr<obs::Metrics> metrics;
  // Run the cron thread. Off only in tests that want the other activities alone.
  bool cron = true;
  // Most schedules handled per round; the loop goes again at once while a round is full.
  int cron_batch = 100;
  // Schedules to create or update before the first cron round (the --config file's); the
  // cron thread retries until Redis takes them.
  std::vector<cron::ScheduleSpec> schedules;
};

struct SchedulerStats {
  int64_t promoted = 0;
  int64_t recovered = 0;
  int64_t recovered_dead = 0;
  int64_t dlq_trimmed = 0;  // dead jobs deleted by the DLQ bounds
  int64_t promote_rounds = 0;
  int64_t errors = 0;
  int64_t cron_fired = 0;    // occurrence jobs enqueued (a racing scheduler's duplicate too)
  int64_t cron_skipped = 0;  // occurrences not run (missed policy, broken definition, raced)
};

class Scheduler {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Scheduler>> Create(const SchedulerOptions& options);
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  ~Scheduler();  // Stop() + Wait()

  [[nodiscard]] Status Start();
  void Stop();  // returns at once; threads end within about a second
  void Wait();
  SchedulerStats stats() const;

 private:
  class Impl;
  explicit Scheduler(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bananas::scheduler
