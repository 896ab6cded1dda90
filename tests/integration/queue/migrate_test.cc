// `bananas migrate` (queue/migrate.h): jobs written by the layout-1 scripts themselves
// (tests/support/layout1.h) in every state come out of the migration runnable and unchanged
// as the public interfaces show them (GetJob, Counts, Dequeue + Ack, PromoteDue, RetryDead);
// a second run is a no-op; data that cannot move is left where it is.
#include "queue/migrate.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/job_id.h"
#include "layout1.h"
#include "queue_fixture.h"

namespace bananas::testing {
namespace {

constexpr int64_t kHour = 3'600'000;

class Migrate : public QueueTest {
 protected:
  void SetUp() override {
    QueueTest::SetUp();
    // Results are kept by Redis expiry, which follows Redis' own clock: this test's "now"
    // must be the real one.
    now_ = NowUnixMs();
    clock_.Set(now_);
    layout1_ = std::make_unique<Layout1>(*conn_);
  }

  // A job id of `queue`, created now.
  std::string NewId(const std::string& queue = "mig") { return NewJobId(queue, now_); }

  std::string EnqueueV1(const std::string& name, Priority priority = Priority::kNormal,
                        const std::string& queue = "mig", int max_retries = 3, int64_t run_at = 0) {
    JobSpec spec;
    spec.name = name;
    spec.payload = "{\"job\":\"" + name + "\"}";
    spec.priority = priority;
    spec.queue = queue;
    spec.max_retries = max_retries;
    spec.run_at_unix_ms = run_at;
    spec.description = "the " + name + " job";
    spec.timeout_ms = 5000;
    std::string id = NewId(queue);
    EXPECT_OK(layout1_->Enqueue(id, spec, now_));
    return id;
  }

  Layout1::Leased LeaseV1(const std::string& expected, int start_now = 1) {
    auto leased = layout1_->Dequeue("mig", 1, now_, 30'000, start_now);
    EXPECT_OK(leased);
    EXPECT_EQ(leased.ok() ? leased->size() : 0u, 1u);
    if (!leased.ok() || leased->empty()) return {};
    EXPECT_EQ(leased->front().id, expected);
    return leased->front();
  }

  // Every layout-1 state, written by the layout-1 scripts. The jobs to lease are enqueued
  // and leased one at a time, before any job that stays pending.
  struct V1Jobs {
    std::string retrying, dead, completed, old_completed, active, tentative, cancel_asked,
        cancelled, high, normal1, normal2, low, scheduled, unregistered;
  };
  V1Jobs WriteEveryState() {
    V1Jobs j;
    j.retrying = EnqueueV1("retrying");
    auto r = LeaseV1(j.retrying);
    auto verdict = layout1_->Fail("mig", r, now_, "boom once", now_ + 5000, true);
    EXPECT_OK(verdict);
    EXPECT_EQ(verdict.ok() ? *verdict : "", "retry");

    j.dead = EnqueueV1("dead", Priority::kNormal, "mig", 0);
    auto d = LeaseV1(j.dead);
    verdict = layout1_->Fail("mig", d, now_, "fatal", now_ + 5000, true);
    EXPECT_OK(verdict);
    EXPECT_EQ(verdict.ok() ? *verdict : "", "dead");

    j.completed = EnqueueV1("completed");
    EXPECT_OK(layout1_->Ack("mig", LeaseV1(j.completed), now_, "the result", 24 * kHour));
    // Finished two days ago, kept (ttl 0): past today's RESULT_TTL_SUCCESS of a day.
    j.old_completed = EnqueueV1("old_completed");
    EXPECT_OK(layout1_->Ack("mig", LeaseV1(j.old_completed), now_ - 48 * kHour, "stale", 0));

    j.active = EnqueueV1("active");
    LeaseV1(j.active);
    j.tentative = EnqueueV1("tentative");
    LeaseV1(j.tentative, /*start_now=*/0);
    j.cancel_asked = EnqueueV1("cancel_asked");
    LeaseV1(j.cancel_asked);
    auto asked = layout1_->Cancel("mig", j.cancel_asked, now_, 7 * 24 * kHour);
    EXPECT_EQ(asked.ok() ? *asked : "", "requested");

    // Pending jobs, and a pending one cancelled: its id stays in the list as a tombstone.
    j.high = EnqueueV1("high", Priority::kHigh);
    j.normal1 = EnqueueV1("normal1");
    j.cancelled = EnqueueV1("cancelled");
    j.normal2 = EnqueueV1("normal2");
    j.low = EnqueueV1("low", Priority::kLow);
    auto cancelled = layout1_->Cancel("mig", j.cancelled, now_, 7 * 24 * kHour);
    EXPECT_EQ(cancelled.ok() ? *cancelled : "", "cancelled");
    j.scheduled = EnqueueV1("scheduled", Priority::kNormal, "mig", 3, now_ + 60'000);

    // A queue the registry lost: found by its keys.
    j.unregistered = EnqueueV1("unregistered", Priority::kNormal, "lost");
    Cmd({"SREM", "bananas:queues", "lost"});
    return j;
  }

  Result<queue::MigrateReport> RunMigration(queue::MigrateOptions migrate = {}) {
    return queue::MigrateLayout1(*conn_, options_, clock_, migrate);
  }

  Job Get(const std::string& id) {
    auto job = broker_->GetJob(id);
    EXPECT_OK(job);
    return job.ok() ? *job : Job{};
  }

  // Leases everything pending in `queue` and completes it; the ids in lease order.
  std::vector<std::string> RunAll(const std::string& queue = "mig") {
    std::vector<std::string> ids;
    for (int round = 0; round < 10; ++round) {
      auto leased = broker_->Dequeue({queue, 100, {}, {}});
      EXPECT_OK(leased);
      if (!leased.ok() || leased->empty()) break;
      std::vector<queue::Completion> done;
      for (const auto& j : *leased) {
        ids.push_back(j.id);
        queue::Completion c;
        c.id = j.id;
        c.token = j.token;
        c.result = "ran " + j.name;
        done.push_back(std::move(c));
      }
      auto acked = broker_->Ack(queue, done);
      EXPECT_OK(acked);
      if (acked.ok()) {
        for (bool ok : *acked) EXPECT_TRUE(ok);
      }
    }
    return ids;
  }

  int64_t now_ = 0;
  std::unique_ptr<Layout1> layout1_;
};

TEST_F(Migrate, ReportCountsEveryStateAndSetsTheLayout) {
  WriteEveryState();
  // A lease whose job hash is gone (deleted by hand): nothing to hand back.
  Cmd({"ZADD", layout1_->Key("mig", "leases"), std::to_string(now_), NewId()});
  Status refused = broker_->CheckLayout();
  EXPECT_EQ(refused.code(), Status::Code::kFailedPrecondition) << refused.ToString();
  EXPECT_NE(refused.message().find("bananas migrate"), std::string::npos) << refused.ToString();

  auto report = RunMigration();
  ASSERT_OK(report);
  EXPECT_EQ(report->layout_before, "");
  EXPECT_EQ(report->queues, 2);
  EXPECT_EQ(report->pending, 5);  // high, normal1, normal2, low, unregistered
  EXPECT_EQ(report->scheduled, 1);
  EXPECT_EQ(report->retrying, 1);
  EXPECT_EQ(report->dead, 1);
  EXPECT_EQ(report->requeued, 2);  // active, tentative
  EXPECT_EQ(report->completed, 1);
  EXPECT_EQ(report->cancelled, 2);  // cancelled, cancel_asked
  EXPECT_EQ(report->expired, 1);    // old_completed
  EXPECT_EQ(report->skipped, 0);
  EXPECT_EQ(report->stale_leases, 1);
  EXPECT_TRUE(report->left.empty()) << report->left.front();
  EXPECT_TRUE(report->layout_set);
  EXPECT_EQ(Cmd({"GET", "bananas:layout"}).str, "2");
  EXPECT_OK(broker_->CheckLayout());
  // Nothing of layout 1 is left: no job hash, no bare lease.
  EXPECT_TRUE(Cmd({"KEYS", "bananas:{*}:job:*"}).elements.empty());
  EXPECT_EQ(Cmd({"ZCARD", "bananas:{mig}:leases"}).integer, 0);
}

TEST_F(Migrate, EveryJobReadsAsBeforeThroughGetJob) {
  V1Jobs j = WriteEveryState();
  ASSERT_OK(RunMigration());

  Job high = Get(j.high);
  EXPECT_EQ(high.state, JobState::kPending);
  EXPECT_EQ(high.name, "high");
  EXPECT_EQ(high.queue, "mig");
  EXPECT_EQ(high.priority, Priority::kHigh);
  EXPECT_EQ(high.payload, "{\"job\":\"high\"}");
  EXPECT_EQ(high.description, "the high job");
  EXPECT_EQ(high.timeout_ms, 5000);
  EXPECT_EQ(high.max_retries, 3);
  EXPECT_EQ(high.attempts, 0);
  EXPECT_EQ(high.created_unix_ms, now_);
  EXPECT_EQ(Get(j.low).priority, Priority::kLow);
  EXPECT_EQ(Get(j.normal1).state, JobState::kPending);
  EXPECT_EQ(Get(j.unregistered).state, JobState::kPending);

  Job scheduled = Get(j.scheduled);
  EXPECT_EQ(scheduled.state, JobState::kScheduled);
  EXPECT_EQ(scheduled.run_at_unix_ms, now_ + 60'000);

  Job retrying = Get(j.retrying);
  EXPECT_EQ(retrying.state, JobState::kRetrying);
  EXPECT_EQ(retrying.attempts, 1);
  EXPECT_EQ(retrying.error, "boom once");
  ASSERT_EQ(retrying.errors.size(), 1u);
  EXPECT_EQ(retrying.errors[0].attempt, 1);
  EXPECT_EQ(retrying.errors[0].at_unix_ms, now_);
  EXPECT_EQ(retrying.errors[0].message, "boom once");

  Job dead = Get(j.dead);
  EXPECT_EQ(dead.state, JobState::kFailed);
  EXPECT_EQ(dead.attempts, 1);
  EXPECT_EQ(dead.error, "fatal");
  ASSERT_EQ(dead.errors.size(), 1u);

  // Active when the services stopped: handed back, its attempt given back.
  for (const auto& id : {j.active, j.tentative}) {
    Job active = Get(id);
    EXPECT_EQ(active.state, JobState::kPending) << id;
    EXPECT_EQ(active.attempts, 0) << id;
  }

  Job completed = Get(j.completed);
  EXPECT_EQ(completed.state, JobState::kCompleted);
  EXPECT_EQ(completed.result, "the result");
  EXPECT_EQ(completed.attempts, 1);
  EXPECT_EQ(completed.finished_unix_ms, now_);

  EXPECT_EQ(Get(j.cancelled).state, JobState::kCancelled);
  Job asked = Get(j.cancel_asked);
  EXPECT_EQ(asked.state, JobState::kCancelled);
  EXPECT_EQ(asked.attempts, 0);

  // Finished longer ago than RESULT_TTL_SUCCESS: gone, as it would be in layout 2.
  auto old = broker_->GetJob(j.old_completed);
  EXPECT_EQ(old.status().code(), Status::Code::kNotFound) << old.status().ToString();
}

TEST_F(Migrate, EveryJobComesOutRunnable) {
  V1Jobs j = WriteEveryState();
  ASSERT_OK(RunMigration());

  auto counts = broker_->Counts("mig");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kHigh)], 1);
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kNormal)], 4);  // the tombstone left out
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kLow)], 1);
  EXPECT_EQ(counts->scheduled, 1);
  EXPECT_EQ(counts->retrying, 1);
  EXPECT_EQ(counts->dead, 1);
  EXPECT_EQ(counts->active, 0);

  // Strict priority, the handed-back jobs next (the tail), then the rest oldest first.
  std::vector<std::string> order = RunAll();
  ASSERT_EQ(order.size(), 6u);
  EXPECT_EQ(order.front(), j.high);
  std::vector<std::string> handed_back(order.begin() + 1, order.begin() + 3);
  std::sort(handed_back.begin(), handed_back.end());
  std::vector<std::string> expected = {j.active, j.tentative};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(handed_back, expected);
  EXPECT_EQ(order[3], j.normal1);
  EXPECT_EQ(order[4], j.normal2);
  EXPECT_EQ(order[5], j.low);
  for (const auto& id : order) {
    Job done = Get(id);
    EXPECT_EQ(done.state, JobState::kCompleted) << id;
    EXPECT_EQ(done.attempts, 1) << id;
    EXPECT_EQ(done.result, "ran " + done.name) << id;
  }
  EXPECT_EQ(RunAll("lost"), std::vector<std::string>{j.unregistered});

  // Scheduled and retrying become due and run.
  clock_.Advance(61'000);
  auto promoted = broker_->PromoteDue("mig");
  ASSERT_OK(promoted);
  EXPECT_EQ(promoted->moved, 2);
  std::vector<std::string> later = RunAll();
  std::sort(later.begin(), later.end());
  expected = {j.scheduled, j.retrying};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(later, expected);
  Job retried = Get(j.retrying);
  EXPECT_EQ(retried.state, JobState::kCompleted);
  EXPECT_EQ(retried.attempts, 2);
  EXPECT_EQ(retried.errors.size(), 1u);

  // The dead job can be retried from the DLQ.
  auto revived = broker_->RetryDead("mig", {});
  ASSERT_OK(revived);
  EXPECT_EQ(*revived, 1);
  EXPECT_EQ(RunAll(), std::vector<std::string>{j.dead});

  counts = broker_->Counts("mig");
  ASSERT_OK(counts);
  for (int p = 0; p < kPriorityCount; ++p) EXPECT_EQ(counts->pending[p], 0);
  EXPECT_EQ(counts->scheduled + counts->retrying + counts->dead + counts->active, 0);
}

// Layout 1 leaves the id of a job a type-filtered dequeue took from the middle of its list
// in place (a counted tombstone); layout 2 would take it for a pending job.
TEST_F(Migrate, AJobLeasedFromTheMiddleOfItsListRunsOnce) {
  std::vector<std::string> a = {EnqueueV1("a"), EnqueueV1("a")};
  std::string b = EnqueueV1("b");
  a.push_back(EnqueueV1("a"));
  a.push_back(EnqueueV1("a"));
  Layout1::Leased lease;
  for (int i = 0; i < 20 && lease.id.empty(); ++i) {
    auto leased = layout1_->DequeueTypes("mig", 1, now_, {"b"}, 1);
    ASSERT_OK(leased);
    if (!leased->empty()) lease = leased->front();
  }
  ASSERT_EQ(lease.id, b);
  auto list = List(layout1_->Key("mig", "pending:normal"));
  ASSERT_NE(std::find(list.begin(), list.end(), b), list.end()) << "not left in the middle";
  auto verdict = layout1_->Fail("mig", lease, now_, "again", now_ + 5000, true);
  ASSERT_OK(verdict);
  ASSERT_EQ(*verdict, "retry");

  auto report = RunMigration();
  ASSERT_OK(report);
  EXPECT_EQ(report->tombstones, 1);
  EXPECT_EQ(report->pending, 4);
  EXPECT_EQ(report->retrying, 1);

  auto counts = broker_->Counts("mig");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kNormal)], 4);
  std::vector<std::string> ran = RunAll();
  std::sort(ran.begin(), ran.end());
  std::sort(a.begin(), a.end());
  EXPECT_EQ(ran, a);  // b is retrying: not leased from its old place
  EXPECT_EQ(Get(b).state, JobState::kRetrying);
  clock_.Advance(6000);
  ASSERT_OK(broker_->PromoteDue("mig"));
  EXPECT_EQ(RunAll(), std::vector<std::string>{b});
  EXPECT_TRUE(RunAll().empty());
  Job done = Get(b);
  EXPECT_EQ(done.state, JobState::kCompleted);
  EXPECT_EQ(done.attempts, 2);
}

TEST_F(Migrate, SecondRunChangesNothing) {
  V1Jobs j = WriteEveryState();
  ASSERT_OK(RunMigration());
  auto again = RunMigration();
  ASSERT_OK(again);
  EXPECT_EQ(again->layout_before, "2");
  EXPECT_EQ(again->moved(), 0);
  EXPECT_EQ(again->expired, 0);
  EXPECT_EQ(again->skipped, 0);
  EXPECT_EQ(again->stale_leases, 0);
  EXPECT_EQ(again->inboxes, 0);
  EXPECT_EQ(again->tombstones, 0);
  EXPECT_TRUE(again->left.empty());
  EXPECT_TRUE(again->layout_set);
  EXPECT_OK(broker_->CheckLayout());
  EXPECT_EQ(Get(j.completed).state, JobState::kCompleted);
  auto counts = broker_->Counts("mig");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kNormal)], 4);
}

TEST_F(Migrate, SmallBatchesMoveTheSame) {
  WriteEveryState();
  queue::MigrateOptions small;
  small.batch = 2;
  small.scan_count = 3;
  auto report = RunMigration(small);
  ASSERT_OK(report);
  EXPECT_EQ(report->moved(), 13);
  EXPECT_EQ(report->expired, 1);
  EXPECT_TRUE(report->left.empty());
}

TEST_F(Migrate, AJobThatCannotBeDecodedIsLeftAndTheLayoutNotSet) {
  std::string good = EnqueueV1("good");
  std::string bad = EnqueueV1("bad");
  Cmd({"HSET", layout1_->JobKey("mig", bad), "state", "exploded"});

  auto report = RunMigration();
  ASSERT_OK(report);
  EXPECT_EQ(report->pending, 1);
  ASSERT_EQ(report->left.size(), 1u);
  EXPECT_NE(report->left[0].find(layout1_->JobKey("mig", bad)), std::string::npos);
  EXPECT_FALSE(report->layout_set);
  EXPECT_TRUE(Cmd({"GET", "bananas:layout"}).is_nil());
  EXPECT_EQ(broker_->CheckLayout().code(), Status::Code::kFailedPrecondition);
  // Left exactly as it was.
  EXPECT_EQ(HGet(layout1_->JobKey("mig", bad), "name"), "bad");

  queue::MigrateOptions force;
  force.set_layout_with_left = true;
  auto forced = RunMigration(force);
  ASSERT_OK(forced);
  EXPECT_EQ(forced->left.size(), 1u);
  EXPECT_TRUE(forced->layout_set);
  EXPECT_EQ(HGet(layout1_->JobKey("mig", bad), "name"), "bad");
  EXPECT_EQ(Get(good).state, JobState::kPending);
}

TEST_F(Migrate, ANewerLayoutIsRefused) {
  EnqueueV1("job");
  Cmd({"SET", "bananas:layout", "3"});
  auto report = RunMigration();
  EXPECT_EQ(report.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(Cmd({"KEYS", "bananas:{mig}:job:*"}).elements.size(), 1u);
}

TEST_F(Migrate, EmptyRedisJustGetsTheLayout) {
  auto report = RunMigration();
  ASSERT_OK(report);
  EXPECT_EQ(report->moved(), 0);
  EXPECT_TRUE(report->layout_set);
  EXPECT_EQ(Cmd({"GET", "bananas:layout"}).str, "2");
  EXPECT_OK(broker_->CheckLayout());
}

TEST_F(Migrate, LiveWorkersAreThoseWhoseRecordHasNotExpired) {
  auto none = queue::LiveWorkers(*conn_, "bananas");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  // As worker.cc WriteRecord writes them: an index of every worker, a record per live one.
  Cmd({"ZADD", "bananas:workers", "1", "gone"});
  Cmd({"ZADD", "bananas:workers", "2", "alive"});
  Cmd({"HSET", "bananas:worker:alive", "host", "h"});
  auto live = queue::LiveWorkers(*conn_, "bananas");
  ASSERT_OK(live);
  EXPECT_EQ(*live, std::vector<std::string>{"alive"});
}

}  // namespace
}  // namespace bananas::testing
