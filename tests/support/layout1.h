// Layout1: writes jobs into Redis exactly as a layout-1 Bananas (before issue 14) did, by
// running that version's own scripts (tests/support/layout1/*.lua, copied from commit
// 26f877c) with EVAL. Tests of `bananas migrate` (queue/migrate.h) build their fixtures with
// it, then read the result through the layout-2 Broker.
//
// Layout 1, per queue q (prefix p): `p:{q}:job:<id>` HASH (name, payload, priority, state,
// max_retries, attempts, token, created, updated, run_at, timeout_ms, description, unique,
// errors, error, result, started, finished, recoveries, lost, unstarted, cancel),
// `p:{q}:pending:<priority>` LISTs of ids, `p:{q}:scheduled` / `retry` / `dead` ZSETs of ids,
// `p:{q}:leases` ZSET of bare ids, `p:{q}:stale` HASH; `p:queues` SET of queue names.
//
// Thread safety: none; one per test.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bananas/job.h"
#include "bananas/status.h"
#include "redis/connection.h"

namespace bananas::testing {

class Layout1 {
 public:
  explicit Layout1(redis::Connection& connection, std::string prefix = "bananas");

  // enqueue.lua: one job with the id given (spec.queue is its queue), created at `now`;
  // pending, or scheduled when spec.run_at_unix_ms > now. Registers the queue.
  Status Enqueue(const std::string& id, const JobSpec& spec, int64_t now);

  struct Leased {
    std::string id;
    int64_t token = 0;
  };
  // dequeue.lua: up to `n` jobs of `queue`, leased for `lease_ms`; the first `start_now`
  // are leased as started, the rest tentatively (v1 `unstarted`).
  Result<std::vector<Leased>> Dequeue(const std::string& queue, int n, int64_t now,
                                      int64_t lease_ms = 30'000, int start_now = 1 << 30);
  // dequeue.lua with a type filter and scan window `window`: a job leased from the middle
  // of its list leaves its id there, a counted tombstone (layout 1's behaviour).
  Result<std::vector<Leased>> DequeueTypes(const std::string& queue, int n, int64_t now,
                                           const std::vector<std::string>& types, int window);
  // fail.lua: `retryable` -> retrying at `retry_at` (or dead after the last attempt);
  // not retryable -> dead. Returns the script's verdict ("retry", "dead", "lost").
  Result<std::string> Fail(const std::string& queue, const Leased& lease, int64_t now,
                           const std::string& error, int64_t retry_at, bool retryable,
                           int history_cap = 10);
  // ack.lua: completed with `result`; the hash expires after `ttl_ms` (0 = kept).
  Status Ack(const std::string& queue, const Leased& lease, int64_t now, const std::string& result,
             int64_t ttl_ms);
  // cancel.lua: "cancelled", "requested" (active), "terminal" or "notfound".
  Result<std::string> Cancel(const std::string& queue, const std::string& id, int64_t now,
                             int64_t ttl_ms);

  // The layout-1 key names.
  std::string Key(const std::string& queue, const std::string& suffix) const;
  std::string JobKey(const std::string& queue, const std::string& id) const {
    return Key(queue, "job:" + id);
  }

 private:
  Result<redis::Reply> Run(const std::string& script, const std::vector<std::string>& keys,
                           const std::vector<std::string>& args);

  redis::Connection& connection_;
  std::string prefix_;
};

}  // namespace bananas::testing
