// ScheduleStore: cron schedules in Redis (SPEC §5). Each operation is one script over the
// {cron}-tagged keys of keys.h, or a read-only pipeline.
//
// Entry points:
//   Put          -> schedule_put.lua      create / replace / upsert a definition; state kept
//   Delete       -> schedule_delete.lua
//   Pause/Resume -> schedule_pause.lua    a paused schedule leaves the due index
//   ClaimOccurrence -> schedule_claim.lua an occurrence is bound to one queue before its
//                                         enqueue, so that it is one job whatever PUT changes
//   RecordFire   -> schedule_advance.lua  compare-and-set of next_run: each occurrence is
//                                         recorded once, whoever fired it
//   Trigger      -> Broker::Enqueue, then schedule_advance.lua: a manual run, counted,
//                                         next_run unchanged
//   Get, List, Due, EarliestDue           plain reads
//
// This store holds definitions and state only. Computing next_run (cron/cron.h) and
// enqueueing the occurrence's job (Broker::Enqueue with the unique key OccurrenceKey()) are
// the caller's: the scheduler's cron loop, or the API for a trigger.
//
// Thread safety: none; like Broker, one per connection and thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bananas/job.h"
#include "bananas/status.h"
#include "base/clock.h"
#include "cron/schedule.h"
#include "queue/broker.h"
#include "queue/keys.h"
#include "redis/connection.h"

namespace bananas::queue {

// The schedule model lives in src/cron (I/O-free, shared with the API's validation).
using cron::kCatchUpWindowMs;
using cron::MissedPolicy;
using cron::MissedPolicyName;
using cron::ParseMissedPolicy;
using cron::Schedule;
using cron::ScheduleSpec;
using cron::ValidateScheduleId;

enum class PutMode { kCreate, kReplace, kUpsert };

class ScheduleStore {
 public:
  // Most schedules List() returns: one bounded pipeline.
  static constexpr size_t kMaxList = 10'000;
  // Unique-key hold of an occurrence's job: the window in which a scheduler that read the
  // same next_run can still fire it and must be deduplicated.
  static constexpr int64_t kOccurrenceUniqueTtlMs = 24 * 3'600'000LL;

  // `connection` and `clock` must outlive the store.
  ScheduleStore(redis::Connection& connection, std::string prefix,
                const Clock& clock = Clock::System());
  ScheduleStore(const ScheduleStore&) = delete;
  ScheduleStore& operator=(const ScheduleStore&) = delete;

  const Keys& keys() const { return keys_; }

  // Writes `spec` with `next_run_unix_ms` (from now). kCreate: AlreadyExists if the id is
  // taken; kReplace: NotFound if it is not. Returns true when created, false when updated.
  [[nodiscard]] Result<bool> Put(const ScheduleSpec& spec, int64_t next_run_unix_ms,
                                 PutMode mode);
  // NotFound for an unknown id.
  [[nodiscard]] Result<Schedule> Get(std::string_view id);
  // Every schedule (at most kMaxList), sorted by id.
  [[nodiscard]] Result<std::vector<Schedule>> List();
  // NotFound for an unknown id.
  [[nodiscard]] Status Delete(std::string_view id);
  [[nodiscard]] Status Pause(std::string_view id);
  // Continues from `next_run_unix_ms`. NotFound for an unknown id.
  [[nodiscard]] Status Resume(std::string_view id, int64_t next_run_unix_ms);
  // Resume from the first occurrence after now (occurrences during the pause do not run).
  [[nodiscard]] Status ResumeFromNow(std::string_view id);
  // A manual run: enqueues the schedule's job now through `broker` (paused or not; next_run
  // unchanged; no occurrence key) and counts it. Returns the job id. NotFound for an unknown
  // id.
  [[nodiscard]] Result<std::string> Trigger(Broker& broker, std::string_view id);

  struct DueEntry {
    std::string id;
    int64_t next_run_unix_ms = 0;
  };
  // Schedules whose next_run <= now, oldest first, at most `limit`.
  [[nodiscard]] Result<std::vector<DueEntry>> Due(int64_t now_unix_ms, int limit);
  // The earliest next_run of the due index; -1 when it is empty.
  [[nodiscard]] Result<int64_t> EarliestDue();

  struct Claim {
    bool current = false;  // next_run is still the occurrence; false: recorded, changed or gone
    bool claimed = false;  // claimed (by this call or earlier): its job goes to `queue`
    std::string queue;
  };
  // Claims occurrence `occurrence_unix_ms` of schedule `id` for the queue the schedule names
  // now, if `claim` and nobody claimed it yet; returns an earlier claim in any case. The
  // occurrence's job must go to the returned queue: unique keys are per queue, so that is
  // what keeps it one job across a PUT that changes the queue (DECISIONS.md, 2026-12-07).
  [[nodiscard]] Result<Claim> ClaimOccurrence(std::string_view id, int64_t occurrence_unix_ms,
                                              bool claim);

  struct Fired {
    int64_t occurrence_unix_ms = 0;  // the next_run that was read
    int64_t next_run_unix_ms = -1;
    bool ran = false;                // a job was enqueued
    std::string job_id;
    std::string error;
  };
  // True when this call recorded the occurrence; false when next_run had already moved on
  // (another scheduler recorded it, or the schedule changed) or the schedule is gone.
  [[nodiscard]] Result<bool> RecordFire(std::string_view id, const Fired& fired);
  // Counts a manual run at `at_unix_ms`. NotFound when the schedule is gone.
  [[nodiscard]] Status RecordTrigger(std::string_view id, int64_t at_unix_ms,
                                     std::string_view job_id);

  // The unique key of an occurrence's job, "sched:<id>:<occurrence ms>": enqueue.lua turns a
  // second submission of the same occurrence into a duplicate.
  static std::string OccurrenceKey(std::string_view id, int64_t occurrence_unix_ms);
  // The job an occurrence submits: the schedule's template with the occurrence's unique key.
  static JobSpec OccurrenceJob(const ScheduleSpec& spec, int64_t occurrence_unix_ms);

 private:
  redis::Connection& connection_;
  const Clock& clock_;
  Keys keys_;
};

}  // namespace bananas::queue
