// Broker: every queue operation, each one atomic Lua script (or a read-only pipeline).
//
// Entry points, in a job's life:
//   Enqueue / EnqueueBatch   -> enqueue.lua      pending or scheduled; all or nothing
//   Dequeue                  -> dequeue.lua      lease with a fencing token
//   ExtendLeases             -> extend_lease.lua heartbeat; tells about cancellation
//   Ack                      -> ack.lua          completed, result stored, lease released
//   Fail                     -> fail.lua         retrying (backoff) or dead (DLQ)
//   PromoteDue               -> promote_due.lua  scheduled/retrying -> pending when due
//   RecoverExpired           -> recover_expired.lua  expired lease -> pending or dead
//   Release                  -> release.lua      shutdown: hand back without counting the run
//   Watch                    -> watch.lua        wait for a job's end without polling
//   TrimDead                 -> trim_dead.lua    DLQ bounded by age and count (scheduler)
//   Cancel, RetryDead, PurgeDead, Pause/Resume, Counts, GetJob, ListDead, Queues
//   WaitForWork              BLPOP on the queues' markers: how idle workers sleep
//
// Adding an operation: a new lua/<op>.lua with the standard header, its name in
// CMakeLists.txt, one wrapper here, keys from Keys only, tests in
// tests/integration/queue/<op>_script_test.cc, and a row in docs/ARCHITECTURE.md if a key
// is new.
//
// Every "now" comes from the injected Clock, so tests pin time and the scripts never read
// the server clock. In the services the default Clock::System() follows Redis' clock
// (base/clock.h, redis/clock_sync.h), so times written by one host and compared by another
// agree whatever their own clocks say. Every batch is bounded by the caller's count.
//
// Thread safety: none; a Broker wraps one redis::Connection owned by the caller. Use one per
// thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bananas/job.h"
#include "bananas/status.h"
#include "base/clock.h"
#include "queue/keys.h"
#include "queue/retry_policy.h"
#include "redis/connection.h"

namespace bananas::queue {

struct BrokerOptions {
  std::string prefix = "bananas";  // BANANAS_PREFIX
  // How long a lease lasts without a heartbeat (LEASE_TIMEOUT). Workers renew at a third.
  int64_t lease_ms = 30'000;
  // A job whose lease expires more often than this goes to the DLQ as a poison pill.
  int max_recoveries = 5;
  // Kept on completed jobs (RESULT_TTL_SUCCESS) and cancelled ones (RESULT_TTL_FAILURE).
  // Dead jobs stay until purged from the DLQ.
  int64_t result_ttl_success_ms = 24 * 3'600'000LL;
  int64_t result_ttl_failure_ms = 7 * 24 * 3'600'000LL;
  // Unique keys given without a ttl are held this long.
  int64_t default_unique_ttl_ms = 24 * 3'600'000LL;
  // Entries of error history kept per job.
  int error_history = 10;
  // Longest error message stored (bytes): Fail keeps the first max_error_bytes (cut at a
  // UTF-8 character boundary) and appends TruncationMarker(). Bounds a job hash, and the
  // history fail.lua re-encodes, at about error_history * 4 KiB.
  int64_t max_error_bytes = 4096;
  // MAX_RESULT_BYTES: a larger result is not stored; Ack fails the job instead (to the DLQ,
  // not retried) with ResultTooLargeMessage(). 0 = no limit.
  int64_t max_result_bytes = 1 << 20;
  // DLQ_MAX and DLQ_TTL, applied by TrimDead (the scheduler's recovery round): at most this
  // many dead jobs per queue, none older than this (unix ms since death). 0 = no bound.
  int64_t dlq_max = 100'000;
  int64_t dlq_ttl_ms = 30LL * 24 * 3'600'000;
  // With a job-type filter, how many ids each of a dequeue's three windows looks at per
  // priority (the oldest, the newest, and a middle one that moves on at every call; the
  // middle one is what reaches a served job behind any number of unserved ones, within
  // ceil(list length / this) empty calls: dequeue.lua).
  int type_filter_scan = 200;
  RetryPolicy retry;
};

struct EnqueueResult {
  std::string id;
  bool duplicate = false;  // id is an earlier job's (same unique key, or the same id resent)
};

struct DequeueRequest {
  DequeueRequest() = default;
  DequeueRequest(std::string queue_name, int most, std::vector<std::string> types = {},
                 std::vector<Priority> served = {})
      : queue(std::move(queue_name)),
        max_jobs(most),
        job_types(std::move(types)),
        priorities(std::move(served)) {}

  std::string queue;
  int max_jobs = 1;
  std::vector<std::string> job_types;  // empty: every type
  // Priorities served; empty means all three. Order among them is always strict.
  std::vector<Priority> priorities;
  // Hand-off (enqueue.lua leases new jobs straight to idle workers): the worker's id, or
  // empty for none. Only a worker that serves every type and priority registers: when this
  // call leases nothing, it is registered idle for `idle_registration`.
  std::string handoff_worker;
  std::chrono::milliseconds idle_registration{3000};
  // The previous call may have registered it: take the registration back and return the
  // jobs its inbox holds (leased to it) before anything else.
  bool may_be_registered = false;
  // The worker stops: take back the registration and the inbox's jobs, lease nothing new.
  bool leaving = false;
};

// A job under lease. `token` fences every later write about this run.
struct LeasedJob {
  std::string id;
  std::string queue;
  int64_t token = 0;
  int attempts = 0;
  int max_retries = 0;
  int recoveries = 0;
  int64_t timeout_ms = 0;
  std::string name;
  std::string payload;
  Priority priority = Priority::kNormal;
  int64_t created_unix_ms = 0;
  int64_t run_at_unix_ms = 0;  // when it became due: pickup latency = started - run_at
  int64_t leased_unix_ms = 0;
  // The job's record as stored (record.h): Ack builds the final record from it without
  // reading Redis. Keep it with the job; move it into the Completion.
  std::string record;
};

struct LeaseRef {
  std::string id;
  int64_t token = 0;
  // The holder has started the job (ExtendLeases): a tentative lease now counts as a run.
  bool started = true;
};

enum class LeaseState { kLost = 0, kKept = 1, kCancelRequested = 2 };

struct Completion {
  Completion() = default;
  Completion(std::string job_id, int64_t lease_token, std::string job_result,
             std::string leased_record = {}, int64_t started = 0)
      : id(std::move(job_id)),
        token(lease_token),
        result(std::move(job_result)),
        record(std::move(leased_record)),
        started_unix_ms(started) {}

  std::string id;
  int64_t token = 0;
  std::string result;
  // The LeasedJob's record (moved), and when the run started. Without a record (tests),
  // Ack reads it from Redis first: one more round trip, the same outcome.
  std::string record;
  int64_t started_unix_ms = 0;
};

struct Failure {
  std::string id;
  int64_t token = 0;
  int attempt = 1;       // the run that failed, for the backoff
  std::string error;
  bool retryable = true;
  // The handler stopped because cancellation was requested: the job ends cancelled.
  bool cancelled = false;
};

struct FailOutcome {
  enum class Kind { kRetrying, kDead, kCancelled, kLeaseLost };
  Kind kind = Kind::kLeaseLost;
  int64_t retry_at_unix_ms = 0;
};

enum class CancelOutcome { kCancelled, kRequested, kTerminal, kNotFound };

struct PromoteResult {
  int moved = 0;
  int64_t next_due_unix_ms = -1;  // -1: nothing scheduled
};

struct RecoverResult {
  int recovered = 0;
  int dead = 0;
};

struct TrimResult {
  int64_t expired = 0;   // dead longer than dlq_ttl_ms
  int64_t over_cap = 0;  // the oldest beyond dlq_max
  bool more = false;     // the call stopped at its limit: call again
  int64_t trimmed() const { return expired + over_cap; }
};

// `message` cut to `max_bytes` (at a UTF-8 character boundary) plus the marker
// "… [truncated N bytes]" (N = bytes dropped); unchanged when it fits. max_bytes <= 0: no cap.
std::string TruncateError(std::string_view message, int64_t max_bytes);
// The error a job gets when its result is over the cap.
std::string ResultTooLargeMessage(size_t result_bytes, int64_t max_bytes);

struct QueueCounts {
  std::string queue;
  bool paused = false;
  int64_t pending[kPriorityCount] = {0, 0, 0};  // by Priority
  int64_t scheduled = 0;
  int64_t active = 0;
  int64_t retrying = 0;
  int64_t dead = 0;
};

// Queue depth of one priority: its pending list's length less the tombstones it holds (ids
// whose job is no longer pending: cancelled, or leased by a type-filtered dequeue from the
// middle of the list; dequeue.lua drops them when it reaches them). `stale` is that
// priority's element of StaleCountsCommand's reply (nil when there is none). Never negative.
int64_t PendingDepth(int64_t list_length, const redis::Reply& stale);
// HMGET of a queue's tombstone counts, in Priority order: pipelined beside the LLENs.
redis::Command StaleCountsCommand(const Keys& keys, std::string_view queue);

struct DeadPage {
  std::vector<Job> jobs;
  int64_t total = 0;
};

class Broker {
 public:
  // `connection` and `clock` must outlive the Broker.
  Broker(redis::Connection& connection, BrokerOptions options,
         const Clock& clock = Clock::System());
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  const BrokerOptions& options() const { return options_; }
  const Keys& keys() const { return keys_; }

  // The key layout of the data in Redis (keys.h Layout()) is the one this version speaks
  // (2). A Redis with no layout written and no queue registered is new: layout 2 is written
  // (SET NX) and OK returned. FailedPrecondition, naming `bananas migrate`, when the data is
  // in layout 1 (written "1", or missing with queues registered). Every service calls it at
  // start, before any other operation.
  [[nodiscard]] Status CheckLayout();

  // Validates, then stores the job. Once OK is returned the job is in Redis. A unique key
  // held by a live job returns that job's id with duplicate = true and writes nothing.
  [[nodiscard]] Result<EnqueueResult> Enqueue(const JobSpec& spec);
  // Validates every spec first: one invalid spec fails the call (InvalidArgument naming the
  // index and field) and nothing is written. Jobs are grouped by queue, one atomic script
  // call per queue (and per `chunk` jobs); results are in the order of `specs`.
  [[nodiscard]] Result<std::vector<EnqueueResult>> EnqueueBatch(const std::vector<JobSpec>& specs,
                                                              size_t chunk = 10'000);
  // Low level, for tests: the ids are given, not generated. `resent`: the batch was sent
  // before and its reply lost; ids of jobs that have finished since count as duplicates too.
  [[nodiscard]] Result<std::vector<EnqueueResult>> EnqueueWithIds(
      std::string_view queue, const std::vector<JobSpec>& specs,
      const std::vector<std::string>& ids, bool resent = false);

  // Leases up to request.max_jobs jobs of one queue; empty when paused or nothing matches.
  // Ids of cancelled jobs met on the way are dropped: up to 8 script calls of 1000 each
  // while nothing is leased; past that it returns empty and a later call goes on.
  [[nodiscard]] Result<std::vector<LeasedJob>> Dequeue(const DequeueRequest& request);

  // Renews leases of one queue. One LeaseState per ref, in order.
  [[nodiscard]] Result<std::vector<LeaseState>> ExtendLeases(std::string_view queue,
                                                           const std::vector<LeaseRef>& leases);
  // Completes jobs of one queue; per job true = completed, false = not completed: the lease
  // was lost, or the result is over options().max_result_bytes, in which case the job is
  // failed instead, straight to the DLQ, with ResultTooLargeMessage() as its error (a
  // truncated result would be corrupt data; a rerun would most likely make it again).
  [[nodiscard]] Result<std::vector<bool>> Ack(std::string_view queue,
                                              const std::vector<Completion>& completions);
  // Records a failed run; the retry time comes from options().retry. The error is stored
  // cut to options().max_error_bytes (TruncateError).
  [[nodiscard]] Result<FailOutcome> Fail(std::string_view queue, const Failure& failure);

  // Hands leased jobs of one queue back to pending (graceful shutdown) without counting the
  // run; per job true = handed back, false = the lease was already lost.
  [[nodiscard]] Result<std::vector<bool>> Release(std::string_view queue,
                                                  const std::vector<LeaseRef>& leases);
  // Marks a job as waited on (so its end is published on JobDoneChannel) and returns its
  // state; a job ended already is returned as it is, not marked. Subscribe to the channel
  // first. NotFound for an unknown job.
  [[nodiscard]] Result<JobState> Watch(std::string_view id);
  // The shard channel (SSUBSCRIBE) on which a watched job's end is published; empty for a
  // malformed id.
  std::string JobDoneChannel(std::string_view id) const;

  [[nodiscard]] Result<CancelOutcome> Cancel(std::string_view id);
  [[nodiscard]] Result<PromoteResult> PromoteDue(std::string_view queue, int limit = 1000);
  [[nodiscard]] Result<RecoverResult> RecoverExpired(std::string_view queue, int limit = 1000);

  [[nodiscard]] Status Pause(std::string_view queue);
  [[nodiscard]] Status Resume(std::string_view queue);
  [[nodiscard]] Result<QueueCounts> Counts(std::string_view queue);
  // Every queue in the registry, sorted.
  [[nodiscard]] Result<std::vector<std::string>> Queues();
  // Says that this service uses `queues` now: adds them to the registry (which a failover
  // or a restart without persistence may have lost) and marks them seen. Workers call it
  // at every heartbeat; enqueue and pause do the same, at most once a minute per queue.
  [[nodiscard]] Status AssertQueues(const std::vector<std::string>& queues);
  // Queues that hold delayed, retrying, leased or dead jobs, found by SCAN (incremental,
  // `count` keys per call) whether or not the registry knows them: a scheduler's fallback so
  // that no job stays scheduled or active forever because the registry lost its queue.
  [[nodiscard]] Result<std::vector<std::string>> DiscoverQueues(int count = 1000);
  // Removes `queue` from the registry if it has held no job (pending, scheduled, retrying,
  // leased, dead), is not paused, and no service has marked it seen for `unused_ms`. True
  // when it was removed. A queue used again re-enters the registry by AssertQueues.
  [[nodiscard]] Result<bool> PruneQueue(std::string_view queue, int64_t unused_ms);
  // NotFound for an unknown or malformed id.
  [[nodiscard]] Result<Job> GetJob(std::string_view id);
  // Newest first.
  [[nodiscard]] Result<DeadPage> ListDead(std::string_view queue, int64_t offset, int64_t limit);
  // With ids empty: the oldest `limit` dead jobs. Returns how many moved / were deleted.
  [[nodiscard]] Result<int64_t> RetryDead(std::string_view queue,
                                          const std::vector<std::string>& ids,
                                          int64_t limit = 1000);
  [[nodiscard]] Result<int64_t> PurgeDead(std::string_view queue,
                                          const std::vector<std::string>& ids,
                                          int64_t limit = 1000);
  // Deletes, oldest first, dead jobs older than options().dlq_ttl_ms and those beyond the
  // newest options().dlq_max, at most `limit` per call (`more` says whether to call again).
  // Off the hot path: the scheduler calls it from its recovery round. Never deletes a job
  // that is not dead.
  [[nodiscard]] Result<TrimResult> TrimDead(std::string_view queue, int64_t limit = 1000);

  // Blocks on the markers of `queues` until a token arrives or `timeout` passes, on
  // `blocking` (a dedicated connection: BLPOP occupies it). True if woken by a token.
  // Note: queues in different cluster slots need one call per slot; with one Redis, one call.
  // `wake_key`, when given, is one more list to block on: the owner pushes to it to end the
  // wait at once (a worker's Stop()).
  [[nodiscard]] Result<bool> WaitForWork(redis::Connection& blocking,
                                         const std::vector<std::string>& queues,
                                         std::chrono::milliseconds timeout,
                                         const std::string& wake_key = {});
  // Same, and also on `worker`'s inboxes in `inbox_queues` (the queues where its last
  // Dequeue registered it idle). A job handed over there is leased to this worker already:
  // it is returned in `handed`, to be run (or released) like a dequeued one.
  [[nodiscard]] Result<bool> WaitForWork(redis::Connection& blocking,
                                         const std::vector<std::string>& queues,
                                         std::chrono::milliseconds timeout,
                                         const std::string& wake_key, const std::string& worker,
                                         const std::vector<std::string>& inbox_queues,
                                         std::optional<LeasedJob>* handed);
  // Same, on the schedulers' timer lists, plus `extra_key` when given (the cron schedules'
  // wake list, keys.h ScheduleWake()).
  [[nodiscard]] Result<bool> WaitForTimer(redis::Connection& blocking,
                                          const std::vector<std::string>& queues,
                                          std::chrono::milliseconds timeout,
                                          const std::string& extra_key = {});

 private:
  // True when a registered queue's lists or zsets name layout-1 job hashes.
  [[nodiscard]] Result<bool> HoldsLayout1Jobs();
  [[nodiscard]] Status RegisterQueue(std::string_view queue);
  Result<bool> BlockOn(redis::Connection& blocking, std::vector<std::string> keys,
                       std::chrono::milliseconds timeout);
  // BLPOP: the key popped from and the value, or nothing at the timeout.
  Result<std::optional<std::pair<std::string, std::string>>> BlockPop(
      redis::Connection& blocking, std::vector<std::string> keys,
      std::chrono::milliseconds timeout);
  double Random01();

  redis::Connection& connection_;
  BrokerOptions options_;
  const Clock& clock_;
  Keys keys_;
  // Queue -> when this Broker last asserted it (steady clock): RegisterQueue re-asserts a
  // queue after kQueueReassert, so a registry that lost the queue gets it back.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> registered_queues_;
  std::mt19937_64 rng_;
};

}  // namespace bananas::queue
