// Keys: the only place that builds Redis key strings. The table in docs/ARCHITECTURE.md lists
// each key; if you add or rename one here, change that table too.
//
// Every key of a queue carries the queue's hash tag, {<queue>}, so that one queue lives in
// one cluster slot and each script's keys share it (SPEC §3, §10). The registry of queue
// names is the only untagged key; it is written by a single-key command, never by a script.
#pragma once

#include <string>
#include <string_view>

#include "bananas/job.h"

namespace bananas::queue {

class Keys {
 public:
  explicit Keys(std::string prefix = "bananas") : prefix_(std::move(prefix)) {}

  const std::string& prefix() const { return prefix_; }

  // <p>:queues                       SET of queue names ever used (untagged)
  std::string QueueRegistry() const { return prefix_ + ":queues"; }
  // <p>:queues:seen                  ZSET queue name -> last time a service said it uses it
  //                                  (unix ms): a queue empty and unseen for QUEUE_PRUNE_AFTER
  //                                  leaves the registry (untagged, single-key commands)
  std::string QueueSeen() const { return prefix_ + ":queues:seen"; }
  // A SCAN pattern matching every key under a queue's tag, and the queue named by such a
  // key (empty when it is not one, or is {cron}'s): how a scheduler finds queues that the
  // registry lost.
  std::string QueueKeyPattern() const;
  std::string QueueOfKey(std::string_view key) const;
  // <p>:{q}:pending:<priority>        LIST of job ids, newest at the head, oldest at the tail
  std::string Pending(std::string_view queue, Priority priority) const;
  // <p>:{q}:stale                     HASH priority -> how many ids in that pending list are
  //                                   tombstones: their job is no longer pending (cancelled,
  //                                   or leased by a filtered dequeue from the middle of the
  //                                   list); dropped when a dequeue reaches them
  std::string Stale(std::string_view queue) const { return Tagged(queue, "stale"); }
  // <p>:{q}:scan                      HASH "<priority letter>:<sha1 of the sorted job types>"
  //                                   -> where a type-filtered dequeue's next middle window
  //                                   starts (ids from the tail of that pending list)
  std::string ScanCursors(std::string_view queue) const { return Tagged(queue, "scan"); }
  // <p>:{q}:scheduled                 ZSET id -> run_at (unix ms)
  std::string Scheduled(std::string_view queue) const { return Tagged(queue, "scheduled"); }
  // <p>:{q}:retry                     ZSET id -> retry_at (unix ms)
  std::string Retry(std::string_view queue) const { return Tagged(queue, "retry"); }
  // <p>:{q}:leases                    ZSET id -> lease deadline (unix ms); = the active set
  std::string Leases(std::string_view queue) const { return Tagged(queue, "leases"); }
  // <p>:{q}:dead                      ZSET id -> time of death (unix ms); the DLQ
  std::string Dead(std::string_view queue) const { return Tagged(queue, "dead"); }
  // <p>:{q}:paused                    STRING, exists while the queue is paused
  std::string Paused(std::string_view queue) const { return Tagged(queue, "paused"); }
  // <p>:{q}:marker                    LIST of wake-up tokens idle workers block on
  std::string Marker(std::string_view queue) const { return Tagged(queue, "marker"); }
  // <p>:{q}:timer                     LIST of wake-up tokens for schedulers (earlier due time)
  std::string Timer(std::string_view queue) const { return Tagged(queue, "timer"); }
  // <p>:{q}:job:<id>                  HASH, the job (fields: docs/ARCHITECTURE.md)
  std::string Job(std::string_view queue, std::string_view id) const;
  // Prefix of the above, handed to scripts as a KEYS entry so derived keys stay declared
  std::string JobPrefix(std::string_view queue) const { return Tagged(queue, "job:"); }
  // <p>:{q}:idle                      ZSET "<lease ms> <worker id>" -> registration expiry (ms):
  //                                   idle workers that take new jobs by hand-off
  std::string IdleWorkers(std::string_view queue) const { return Tagged(queue, "idle"); }
  // <p>:{q}:inbox:<worker id>         LIST of jobs leased to that idle worker by enqueue.lua
  std::string Inbox(std::string_view queue, std::string_view worker) const {
    return InboxPrefix(queue) + std::string(worker);
  }
  std::string InboxPrefix(std::string_view queue) const { return Tagged(queue, "inbox:"); }
  // <p>:{q}:unique:<key>              STRING job id, PX unique_ttl
  std::string UniquePrefix(std::string_view queue) const { return Tagged(queue, "unique:"); }

  // Cron schedules all share one hash tag, {cron}: every schedule script's keys are in one
  // slot, and a schedule is found by its id alone. (A queue named "cron" shares the slot,
  // never a key: no queue key ends in due, ids, schedule:<id> or wake.) A schedule's jobs go
  // through the normal enqueue of their queue, deduplicated by a unique key (DECISIONS.md).
  // <p>:{cron}:due                    ZSET schedule id -> next_run (unix ms); only schedules
  //                                   that are enabled and not paused
  std::string ScheduleDue() const { return Tagged("cron", "due"); }
  // <p>:{cron}:ids                    SET of every schedule id
  std::string ScheduleIds() const { return Tagged("cron", "ids"); }
  // <p>:{cron}:schedule:<id>          HASH, a schedule's definition and state
  std::string Schedule(std::string_view id) const;
  // <p>:{cron}:wake                   LIST of wake-up tokens: a schedule was added or changed
  std::string ScheduleWake() const { return Tagged("cron", "wake"); }

  // The job key for a job id alone (its queue is encoded in the id); empty for a bad id.
  std::string JobFromId(std::string_view id) const;

 private:
  std::string Tagged(std::string_view queue, std::string_view suffix) const;
  std::string prefix_;
};

}  // namespace bananas::queue
