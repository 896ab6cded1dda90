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
  // <p>:{q}:pending:<priority>        LIST of job ids, newest at the head, oldest at the tail;
  //                                   an id with no field in Jobs is a tombstone
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
  // <p>:{q}:leases                    ZSET id -> lease deadline (unix ms): the active set
  std::string Leases(std::string_view queue) const { return Tagged(queue, "leases"); }
  // <p>:{q}:dead                      ZSET id -> time of death (unix ms); the DLQ
  std::string Dead(std::string_view queue) const { return Tagged(queue, "dead"); }
  // <p>:{q}:paused                    STRING, exists while the queue is paused
  std::string Paused(std::string_view queue) const { return Tagged(queue, "paused"); }
  // <p>:{q}:marker                    LIST of wake-up tokens idle workers block on
  std::string Marker(std::string_view queue) const { return Tagged(queue, "marker"); }
  // <p>:{q}:timer                     LIST of wake-up tokens for schedulers (earlier due time)
  std::string Timer(std::string_view queue) const { return Tagged(queue, "timer"); }
  // <p>:{q}:jobs                     HASH id -> record (record.h) of every job that is
  //                                  pending, scheduled, retrying, active or dead
  std::string Jobs(std::string_view queue) const { return Tagged(queue, "jobs"); }
  // <p>:{q}:seq                      STRING counter: one fencing token per dequeue call (its
  //                                  batch shares it) and per hand-off
  std::string Seq(std::string_view queue) const { return Tagged(queue, "seq"); }
  // <p>:{q}:tokens                   HASH id -> fencing token of its current lease; "s"
  //                                  appended once the holder reported the job started
  //                                  (a lease not marked so is tentative)
  std::string Tokens(std::string_view queue) const { return Tagged(queue, "tokens"); }
  // <p>:{q}:cancel                   SET of ids of active jobs whose cancellation was asked
  std::string CancelRequests(std::string_view queue) const { return Tagged(queue, "cancel"); }
  // <p>:{q}:notify                   SET of ids a client waits on (watch.lua): the script that
  //                                  ends such a job publishes on its EndedChannel
  std::string Watched(std::string_view queue) const { return Tagged(queue, "notify"); }
  // <p>:{q}:ended:<id>               shard channel (not a key): a watched job's end
  std::string EndedChannel(std::string_view queue, std::string_view id) const;
  // Prefix of the above, for scripts.
  std::string EndedPrefix(std::string_view queue) const { return Tagged(queue, "ended:"); }
  // <p>:{q}:done:<c|x>:<bucket>      HASH id -> final record (record.h) of the jobs completed
  //                                  (c) or cancelled (x) in that time bucket; expires as a
  //                                  whole, RESULT_TTL_SUCCESS / _FAILURE after the bucket
  std::string DonePrefix(std::string_view queue) const { return Tagged(queue, "done:"); }
  // <p>:{q}:buckets                  ZSET done-hash key -> its expiry (unix ms): the live
  //                                  buckets, newest last
  std::string Buckets(std::string_view queue) const { return Tagged(queue, "buckets"); }
  // Layout 1 (before issue 14), read by `bananas migrate` only:
  // <p>:{q}:job:<id>                 HASH, the job
  std::string LegacyJob(std::string_view queue, std::string_view id) const;
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

  // <p>:layout                       STRING, the key layout version ("2"); untagged
  std::string Layout() const { return prefix_ + ":layout"; }

 private:
  std::string Tagged(std::string_view queue, std::string_view suffix) const;
  std::string prefix_;
};

}  // namespace bananas::queue
