// Migration of Redis from key layout 1 (Bananas before issue 14: one hash per job) to layout 2
// (docs/ARCHITECTURE.md "Keys", record.h): what `bananas migrate` runs, with every service
// stopped (docs/OPERATIONS.md, "Upgrading from layout 1").
//
// It finds every layout-1 job hash, `<p>:{q}:job:<id>`, by one SCAN of the queues' keys (so
// queues the registry lost are found too), decodes it (job_codec.h), and moves it with
// migrate.lua, a batch of one queue at a time:
//   pending, scheduled, retrying, dead -> a record in `jobs`; the id stays in its list or
//                                         zset (same names, same contents in layout 2)
//   active                             -> back to the tail of its pending list, its attempt
//                                         given back (as a graceful shutdown hands a job
//                                         back); with cancellation asked, cancelled instead
//   completed, cancelled               -> a final record in the done bucket of its finished
//                                         time, kept RESULT_TTL_SUCCESS / _FAILURE after it
//                                         as if it had ended in layout 2; one whose time is
//                                         already past is deleted (expired)
// Before a queue's first job moves, entries of its pending lists that layout 1 counted as
// tombstones but that name a job (leased from the middle of the list by a type-filtered
// dequeue) are blanked, as layout 2 writes its tombstones: layout 2 would take them for
// pending jobs. Then, coming from layout 1, it drops what layout 2 cannot use: leases of jobs that
// exist in neither layout, and idle workers' registrations and inboxes (their jobs were active, so
// they were requeued). Finally it sets `<p>:layout` to 2. Cron schedules ({cron} keys) have
// the same layout in both and are not touched.
//
// Idempotent and safe to interrupt: each job moves in one atomic step that deletes its
// layout-1 hash, and a run skips what is gone. A job hash that cannot be decoded, or whose
// state changed between the read and the move (a service still running), is left as it is
// and named in `left`; the layout is then not set (unless `set_layout_with_left`), so every
// service keeps refusing to start until the run is repeated or the keys are dealt with.
//
// Thread safety: none; one call at a time on the connection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bananas/status.h"
#include "base/clock.h"
#include "queue/broker.h"
#include "redis/connection.h"

namespace bananas::queue {

struct MigrateOptions {
  // Jobs per migrate.lua call (one queue each): bounds how long Redis is busy per call.
  int batch = 500;
  // Keys per SCAN call.
  int scan_count = 1000;
  // Set the layout to 2 even when some job hashes were left in layout 1.
  bool set_layout_with_left = false;
};

struct MigrateReport {
  std::string layout_before;  // what <p>:layout held: "" (none), "1" or "2"
  int64_t queues = 0;         // queues seen (registered or found holding keys)
  int64_t pending = 0;
  int64_t scheduled = 0;
  int64_t retrying = 0;
  int64_t dead = 0;
  int64_t requeued = 0;  // active in layout 1: pending again, uncharged
  int64_t completed = 0;
  int64_t cancelled = 0;     // cancellation asked while active included
  int64_t expired = 0;       // completed or cancelled longer ago than their ttl: deleted
  int64_t skipped = 0;       // gone when reached: moved by an earlier run, or expired meanwhile
  int64_t stale_leases = 0;  // leases whose job existed in neither layout: dropped
  int64_t inboxes = 0;       // idle workers' inboxes and registration sets deleted
  int64_t tombstones = 0;    // pending-list entries of jobs not pending there, set to ''
                             // (layout 2's tombstone), so that no job is leased twice
  std::vector<std::string> left;  // "<key>: <why>" for each job hash left in layout 1
  bool layout_set = false;        // <p>:layout is now "2"

  int64_t moved() const {
    return pending + scheduled + retrying + dead + requeued + completed + cancelled;
  }
};

// Uses options.prefix, result_ttl_success_ms and result_ttl_failure_ms (the services'
// RESULT_TTL_SUCCESS / _FAILURE: run it with their settings). Errors: Unavailable when Redis
// is unreachable (run again), FailedPrecondition when <p>:layout names a layout newer than 2.
[[nodiscard]] Result<MigrateReport> MigrateLayout1(redis::Connection& connection,
                                                   const BrokerOptions& options,
                                                   const Clock& clock = Clock::System(),
                                                   const MigrateOptions& migrate = {});

// Ids of the workers whose record is alive: `<p>:workers` lists every worker that beat,
// and its `<p>:worker:<id>` hash expires after three missed beats (worker.cc WriteRecord, in
// both layouts). `bananas migrate` refuses to run while any is.
[[nodiscard]] Result<std::vector<std::string>> LiveWorkers(redis::Connection& connection,
                                                           const std::string& prefix);

// The report as a few lines of text, for `bananas migrate`.
std::string DescribeMigrateReport(const MigrateReport& report);

}  // namespace bananas::queue
