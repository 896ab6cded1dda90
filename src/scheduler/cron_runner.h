// CronRunner: fires the due occurrences of cron schedules, one round at a time. The
// scheduler's cron thread owns one (scheduler.h); tests drive it directly with a pinned clock.
//
// One occurrence, whoever runs it and however many schedulers race for it:
//   1. read the schedule; go on only if its next_run is still the occurrence O from the due
//      index, and it is enabled and not paused;
//   2. decide by its missed policy whether O runs (queue/schedule_store.h, MissedPolicy);
//   3. claim O with schedule_claim.lua: O is bound to the queue the schedule names now, or to
//      the queue of an earlier claim (then O runs whatever the policy says now: it was
//      started);
//   4. enqueue O's job on the claimed queue through the normal enqueue path with the unique
//      key "sched:<id>:<O>": a second enqueue of O, by a racing scheduler or after a crash
//      between 3 and 5, goes to the same queue, returns the first job and writes nothing;
//   5. record O with schedule_advance.lua, a compare-and-set on next_run == O: exactly one
//      caller advances the schedule and counts the run (and clears the claim).
// Enqueue before record makes a crash between them harmless (the next round enqueues O
// again and is deduplicated); record before enqueue could lose O. The claim makes the dedup
// hold across a PUT that changes the queue (unique keys are per queue). A Redis that refuses
// the enqueue (down, LOADING, full: redis::IsRetryable) fails the round and leaves O due.
// DECISIONS.md has the Cluster reasoning.
//
// Thread safety: none; one per thread (it uses that thread's Broker and ScheduleStore).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bananas/status.h"
#include "base/clock.h"
#include "cron/cron.h"
#include "queue/broker.h"
#include "queue/schedule_store.h"

namespace bananas::scheduler {

class CronRunner {
 public:
  struct Round {
    int fired = 0;    // jobs enqueued by this round (duplicates of a racing scheduler included)
    int skipped = 0;  // occurrences not run by their missed policy, or failed
    int64_t next_due_unix_ms = -1;  // earliest next_run left; -1: no schedule is due ever
  };

  // All three must outlive the runner.
  CronRunner(queue::Broker& broker, queue::ScheduleStore& store, const Clock& clock);

  // Handles every occurrence due now (at most `batch` schedules per call; call again while
  // `fired + skipped == batch`). Unavailable when Redis is; a schedule whose definition no
  // longer works (its zone file vanished, its job is refused) is recorded with last_error and
  // moved on, never retried in a loop.
  [[nodiscard]] Result<Round> RunDue(int batch);

  // Creates or updates each schedule (ScheduleStore::Put, upsert) with its next run computed
  // from now. Used for the config file's schedules: state is kept, and next_run too while
  // cron and timezone are unchanged, so a restart neither skips nor repeats an occurrence.
  [[nodiscard]] Status Apply(const std::vector<cron::ScheduleSpec>& schedules);

 private:
  // True if a job was enqueued; false if the occurrence was skipped or already handled.
  Result<bool> Fire(const queue::ScheduleStore::DueEntry& due);
  Result<std::shared_ptr<const cron::CronSchedule>> Compile(const queue::ScheduleSpec& spec);

  queue::Broker& broker_;
  queue::ScheduleStore& store_;
  const Clock& clock_;
  // Parsed expressions by "cron\ntimezone"; cleared when it grows past kMaxCompiled.
  std::map<std::string, std::shared_ptr<const cron::CronSchedule>> compiled_;
};

}  // namespace bananas::scheduler
