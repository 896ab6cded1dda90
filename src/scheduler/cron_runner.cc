#include "scheduler/cron_runner.h"

#include <algorithm>

#include "redis/errors.h"

namespace bananas::scheduler {
namespace {

// Distinct (expression, zone) pairs kept parsed; beyond this the cache starts over.
constexpr size_t kMaxCompiled = 1000;

}  // namespace

CronRunner::CronRunner(queue::Broker& broker, queue::ScheduleStore& store, const Clock& clock)
    : broker_(broker), store_(store), clock_(clock) {}

Result<std::shared_ptr<const cron::CronSchedule>> CronRunner::Compile(
    const queue::ScheduleSpec& spec) {
  std::string key = spec.cron + "\n" + spec.timezone;
  auto it = compiled_.find(key);
  if (it != compiled_.end()) return it->second;
  auto parsed = cron::CronSchedule::Parse(spec.cron, spec.timezone);
  if (!parsed) return parsed.status();
  if (compiled_.size() >= kMaxCompiled) compiled_.clear();
  auto shared = std::make_shared<const cron::CronSchedule>(std::move(*parsed));
  compiled_.emplace(std::move(key), shared);
  return shared;
}

Status CronRunner::Apply(const std::vector<cron::ScheduleSpec>& schedules) {
  for (const cron::ScheduleSpec& spec : schedules) {
    auto compiled = Compile(spec);
    if (!compiled) return compiled.status().WithContext("schedule " + spec.id);
    int64_t next = spec.enabled ? (*compiled)->Next(clock_.NowMs()) : -1;
    auto put = store_.Put(spec, next, queue::PutMode::kUpsert);
    if (!put) return put.status().WithContext("schedule " + spec.id);
  }
  return Status::Ok();
}

Result<CronRunner::Round> CronRunner::RunDue(int batch) {
  Round round;
  auto due = store_.Due(clock_.NowMs(), batch);
  if (!due) return due.status();
  for (const auto& entry : *due) {
    auto fired = Fire(entry);
    if (!fired) return fired.status();
    ++(*fired ? round.fired : round.skipped);
  }
  auto earliest = store_.EarliestDue();
  if (!earliest) return earliest.status();
  round.next_due_unix_ms = *earliest;
  return round;
}

Result<bool> CronRunner::Fire(const queue::ScheduleStore::DueEntry& due) {
  auto schedule = store_.Get(due.id);
  if (!schedule) {
    if (schedule.status().IsNotFound()) return false;  // deleted since the index was read
    return schedule.status();
  }
  const int64_t occurrence = due.next_run_unix_ms;
  if (schedule->next_run_unix_ms != occurrence || !schedule->spec.enabled || schedule->paused) {
    return false;  // another scheduler handled it, or it changed: the index already moved
  }
  const int64_t now = clock_.NowMs();
  queue::ScheduleStore::Fired fired;
  fired.occurrence_unix_ms = occurrence;

  auto compiled = Compile(schedule->spec);
  if (!compiled) {
    // Nothing can compute a next run: park the schedule (next_run -1) with the reason.
    fired.error = compiled.status().message();
    auto recorded = store_.RecordFire(due.id, fired);
    if (!recorded) return recorded.status();
    return false;
  }
  const cron::CronSchedule& cron = **compiled;
  const int64_t after_occurrence = cron.Next(occurrence);
  // More than one occurrence is due at once: the scheduler was not running at the time.
  const bool missed = after_occurrence >= 0 && after_occurrence <= now;
  bool run = true;
  switch (schedule->spec.missed) {
    case queue::MissedPolicy::kOnce:
      fired.next_run_unix_ms = cron.Next(std::max(occurrence, now));
      break;
    case queue::MissedPolicy::kSkip:
      run = !missed;
      fired.next_run_unix_ms = cron.Next(std::max(occurrence, now));
      if (!run) fired.error = "missed occurrences skipped (missed = skip)";
      break;
    case queue::MissedPolicy::kAll:
      if (occurrence < now - queue::kCatchUpWindowMs) {
        run = false;
        fired.error = "missed occurrences older than the catch-up window skipped (missed = all)";
        fired.next_run_unix_ms = cron.Next(now - queue::kCatchUpWindowMs - 1);
      } else {
        fired.next_run_unix_ms = after_occurrence;
      }
      break;
  }

  // Bind O to one queue before enqueueing it (schedule_claim.lua): a second fire of O (a
  // racing scheduler, the round after a crash or a refused enqueue) gets the same queue, and
  // O's unique key, which lives under that queue's tag, makes it one job whatever PUT moved
  // the schedule to meanwhile. A claim made earlier also means O was started: it runs even if
  // the missed policy would now skip it, so that a crash between claim and enqueue loses
  // nothing.
  auto claim = store_.ClaimOccurrence(due.id, occurrence, run);
  if (!claim) return claim.status();
  if (!claim->current) return false;  // recorded by another scheduler, or the schedule changed
  if (claim->claimed && !run) {
    run = true;
    fired.error.clear();
  }

  if (run) {
    JobSpec job = queue::ScheduleStore::OccurrenceJob(schedule->spec, occurrence);
    job.queue = claim->queue;
    auto enqueued = broker_.Enqueue(job);
    if (!enqueued) {
      // Redis down, not ready, or full (redis/errors.h): O was not enqueued. Leave next_run
      // as it is, so that the next round tries O again.
      if (redis::IsRetryable(enqueued.status())) return enqueued.status();
      run = false;
      fired.error = "enqueue: " + enqueued.status().message();
    } else {
      fired.job_id = enqueued->id;
    }
  }
  fired.ran = run;
  auto recorded = store_.RecordFire(due.id, fired);
  if (!recorded) return recorded.status();
  return run;
}

}  // namespace bananas::scheduler
