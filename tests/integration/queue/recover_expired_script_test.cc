#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "queue_fixture.h"

namespace bananas::testing {
namespace {

class RecoverExpiredScript : public QueueTest {};

TEST_F(RecoverExpiredScript, LiveLeaseIsLeftAlone) {
  std::string id = Submit();
  LeaseOne();
  clock_.Advance(options_.lease_ms - 1);
  auto r = broker_->RecoverExpired("default");
  ASSERT_OK(r);
  EXPECT_EQ(r->recovered, 0);
  EXPECT_EQ(LeasedIds(), std::vector<std::string>{id});
  EXPECT_EQ(State(id), "active");
}

TEST_F(RecoverExpiredScript, ExpiredLeaseReturnsToFrontOfQueue) {
  std::string waiting = Submit("j");
  std::string crashed = Submit("j");
  // Lease the oldest ("waiting" was first in), start it, then pretend its worker died.
  auto job = LeaseStarted();
  ASSERT_EQ(job.id, waiting);
  clock_.Advance(options_.lease_ms);
  auto r = broker_->RecoverExpired("default");
  ASSERT_OK(r);
  EXPECT_EQ(r->recovered, 1);
  EXPECT_EQ(r->dead, 0);
  // Recovered work goes to the tail, the end taken next.
  EXPECT_EQ(PendingIds(Priority::kNormal),
            (std::vector<std::string>{crashed, waiting}));
  EXPECT_TRUE(LeasedIds().empty());
  auto stored = broker_->GetJob(waiting);
  ASSERT_OK(stored);
  EXPECT_EQ(stored->state, JobState::kPending);
  EXPECT_EQ(stored->recoveries, 1);
  EXPECT_EQ(stored->attempts, 1);
  EXPECT_NE(stored->error.find("lease expired"), std::string::npos);
  EXPECT_GE(Cmd({"LLEN", keys().Marker("default")}).integer, 1);
}

TEST_F(RecoverExpiredScript, ExpiredLeaseRecoveredOnceUnderRace) {
  // Two recoverers on their own connections race for the same expired leases, many times.
  auto conn_a = Connect();
  auto conn_b = Connect();
  queue::Broker a(*conn_a, options_, clock_);
  queue::Broker b(*conn_b, options_, clock_);
  for (int round = 0; round < 200; ++round) {
    ASSERT_OK(Cmd({"FLUSHALL"}).is_error() ? Status::Internal("flush") : Status::Ok());
    clock_.Set(kStart);
    std::string id = Submit();
    LeaseStarted();
    clock_.Set(kStart + options_.lease_ms + 1);
    std::atomic<int> go{0};
    queue::RecoverResult ra, rb;
    std::thread ta([&] {
      go.fetch_add(1);
      while (go.load() < 2) {
      }
      auto r = a.RecoverExpired("default");
      if (r.ok()) ra = *r;
    });
    std::thread tb([&] {
      go.fetch_add(1);
      while (go.load() < 2) {
      }
      auto r = b.RecoverExpired("default");
      if (r.ok()) rb = *r;
    });
    ta.join();
    tb.join();
    ASSERT_EQ(ra.recovered + rb.recovered, 1) << "round " << round;
    ASSERT_EQ(PendingIds(Priority::kNormal), std::vector<std::string>{id});
    auto stored = broker_->GetJob(id);
    ASSERT_OK(stored);
    ASSERT_EQ(stored->recoveries, 1);
  }
}

TEST_F(RecoverExpiredScript, PoisonPillGoesToDlq) {
  options_.max_recoveries = 2;
  ResetBroker();
  std::string id = Submit("crashy", Priority::kNormal, "default", 100);
  for (int i = 1; i <= 3; ++i) {
    LeaseStarted();
    clock_.Advance(options_.lease_ms + 1);
    auto r = broker_->RecoverExpired("default");
    ASSERT_OK(r);
    if (i <= 2) {
      EXPECT_EQ(r->recovered, 1);
    } else {
      EXPECT_EQ(r->dead, 1);
    }
  }
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->dead, 1);
  EXPECT_TRUE(PendingIds(Priority::kNormal).empty());
  auto job = broker_->GetJob(id);
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kFailed);
  EXPECT_EQ(job->recoveries, 3);
  EXPECT_NE(job->error.find("poison pill"), std::string::npos) << job->error;
  EXPECT_EQ(job->errors.size(), 3u);
}

TEST_F(RecoverExpiredScript, LastAttemptLostGoesToDlq) {
  // max_retries 0: the job may run once; a run lost with its worker was that run.
  std::string id = Submit("once", Priority::kNormal, "default", 0);
  LeaseStarted();
  clock_.Advance(options_.lease_ms + 1);
  auto r = broker_->RecoverExpired("default");
  ASSERT_OK(r);
  EXPECT_EQ(r->dead, 1);
  EXPECT_EQ(State(id), "failed");
  auto page = broker_->ListDead("default", 0, 10);
  ASSERT_OK(page);
  ASSERT_EQ(page->jobs.size(), 1u);
  EXPECT_EQ(page->jobs[0].id, id);
}

TEST_F(RecoverExpiredScript, BoundedByLimit) {
  for (int i = 0; i < 10; ++i) Submit();
  auto jobs = broker_->Dequeue({"default", 10, {}, {}});
  ASSERT_OK(jobs);
  clock_.Advance(options_.lease_ms + 1);
  auto r = broker_->RecoverExpired("default", 4);
  ASSERT_OK(r);
  EXPECT_EQ(r->recovered, 4);
  EXPECT_EQ(LeasedIds().size(), 6u);
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->active, 6);
}

// Issue 13, item 1: a job leased tentatively (prefetched beyond the worker's free executors,
// or handed to an idle worker's inbox) whose worker dies before reporting it started is not
// charged: no attempt, no recovery, no DLQ even with max_retries 0.
TEST_F(RecoverExpiredScript, UnstartedTentativeLeaseIsNotCharged) {
  std::string id = Submit("once", Priority::kNormal, "default", 0);
  queue::DequeueRequest request("default", 1);
  auto leased = broker_->Dequeue(request);
  ASSERT_OK(leased);
  ASSERT_EQ(leased->size(), 1u);
  EXPECT_EQ((*leased)[0].attempts, 1);  // an attempt while it is held
  clock_.Advance(options_.lease_ms + 1);
  auto r = broker_->RecoverExpired("default");
  ASSERT_OK(r);
  EXPECT_EQ(r->recovered, 1);
  EXPECT_EQ(r->dead, 0);
  auto job = broker_->GetJob(id);
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kPending);
  EXPECT_EQ(job->attempts, 0);
  EXPECT_EQ(job->recoveries, 0);
  // It runs next, as its first attempt.
  auto again = LeaseOne();
  EXPECT_EQ(again.id, id);
  EXPECT_EQ(again.attempts, 1);
}

// A tentative lease whose holder reported the start counts like any other run.
TEST_F(RecoverExpiredScript, TentativeLeaseReportedStartedIsCharged) {
  std::string id = Submit("once", Priority::kNormal, "default", 0);
  queue::DequeueRequest request("default", 1);
  auto leased = broker_->Dequeue(request);
  ASSERT_OK(leased);
  ASSERT_EQ(leased->size(), 1u);
  auto kept = broker_->ExtendLeases("default", {{id, (*leased)[0].token, /*started=*/true}});
  ASSERT_OK(kept);
  clock_.Advance(options_.lease_ms + 1);
  auto r = broker_->RecoverExpired("default");
  ASSERT_OK(r);
  EXPECT_EQ(r->dead, 1);  // its one run was lost with the worker
  auto job = broker_->GetJob(id);
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kFailed);
  EXPECT_EQ(job->attempts, 1);
}

// Heartbeats of a job still waiting keep it tentative.
TEST_F(RecoverExpiredScript, TentativeLeaseRenewedWhileWaitingStaysUncharged) {
  std::string id = Submit("once", Priority::kNormal, "default", 0);
  queue::DequeueRequest request("default", 1);
  auto leased = broker_->Dequeue(request);
  ASSERT_OK(leased);
  ASSERT_OK(broker_->ExtendLeases("default", {{id, (*leased)[0].token, /*started=*/false}}));
  clock_.Advance(options_.lease_ms + 1);
  auto r = broker_->RecoverExpired("default");
  ASSERT_OK(r);
  EXPECT_EQ(r->dead, 0);
  auto job = broker_->GetJob(id);
  ASSERT_OK(job);
  EXPECT_EQ(job->attempts, 0);
}

// A job that kills its worker before the start is reported gets one uncharged loss; from
// then on every lease of it is charged, so a poison pill still reaches the DLQ.
TEST_F(RecoverExpiredScript, OnlyOneUnchargedLossPerJob) {
  options_.max_recoveries = 1;
  ResetBroker();
  std::string id = Submit("crashy", Priority::kNormal, "default", 100);
  int died = 0;
  for (int i = 0; i < 4 && died == 0; ++i) {
    queue::DequeueRequest request("default", 1);
    auto leased = broker_->Dequeue(request);
    ASSERT_OK(leased);
    ASSERT_EQ(leased->size(), 1u);
    clock_.Advance(options_.lease_ms + 1);
    auto r = broker_->RecoverExpired("default");
    ASSERT_OK(r);
    died += r->dead;
  }
  EXPECT_EQ(died, 1);
  auto job = broker_->GetJob(id);
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kFailed);
  EXPECT_EQ(job->recoveries, 2);  // one uncharged loss, then two charged: over max 1
  EXPECT_EQ(job->attempts, 2);
}

// A job whose cancellation was asked while it was leased ends cancelled when its worker
// hands it back (shutdown, or a prefetched job given up): handing it back would run it.
TEST_F(RecoverExpiredScript, HandedBackJobWithCancelRequestEndsCancelled) {
  std::string id = Submit();
  auto job = LeaseOne();
  auto c = broker_->Cancel(id);
  ASSERT_OK(c);
  EXPECT_EQ(*c, queue::CancelOutcome::kRequested);
  auto released = broker_->Release("default", {{id, job.token}});
  ASSERT_OK(released);
  EXPECT_EQ(*released, std::vector<bool>{true});
  auto after = broker_->GetJob(id);
  ASSERT_OK(after);
  EXPECT_EQ(after->state, JobState::kCancelled);
  auto next = broker_->Dequeue({"default", 10, {}, {}});
  ASSERT_OK(next);
  EXPECT_TRUE(next->empty());
}

}  // namespace
}  // namespace bananas::testing
