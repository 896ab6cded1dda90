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
  EXPECT_EQ(ZMembers(keys().Leases("default")), std::vector<std::string>{id});
  EXPECT_EQ(HGet(keys().Job("default", id), "state"), "active");
}

TEST_F(RecoverExpiredScript, ExpiredLeaseReturnsToFrontOfQueue) {
  std::string waiting = Submit("j");
  std::string crashed = Submit("j");
  // Lease the oldest ("waiting" was first in), then pretend its worker died.
  auto job = LeaseOne();
  ASSERT_EQ(job.id, waiting);
  clock_.Advance(options_.lease_ms);
  auto r = broker_->RecoverExpired("default");
  ASSERT_OK(r);
  EXPECT_EQ(r->recovered, 1);
  EXPECT_EQ(r->dead, 0);
  // Recovered work goes to the tail, the end taken next.
  EXPECT_EQ(List(keys().Pending("default", Priority::kNormal)),
            (std::vector<std::string>{crashed, waiting}));
  EXPECT_TRUE(ZMembers(keys().Leases("default")).empty());
  const std::string jk = keys().Job("default", waiting);
  EXPECT_EQ(HGet(jk, "state"), "pending");
  EXPECT_EQ(HGet(jk, "recoveries"), "1");
  EXPECT_NE(HGet(jk, "error").find("lease expired"), std::string::npos);
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
    LeaseOne();
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
    ASSERT_EQ(List(keys().Pending("default", Priority::kNormal)), std::vector<std::string>{id});
    ASSERT_EQ(HGet(keys().Job("default", id), "recoveries"), "1");
  }
}

TEST_F(RecoverExpiredScript, PoisonPillGoesToDlq) {
  options_.max_recoveries = 2;
  ResetBroker();
  std::string id = Submit("crashy", Priority::kNormal, "default", 100);
  for (int i = 1; i <= 3; ++i) {
    LeaseOne();
    clock_.Advance(options_.lease_ms + 1);
    auto r = broker_->RecoverExpired("default");
    ASSERT_OK(r);
    if (i <= 2) {
      EXPECT_EQ(r->recovered, 1);
    } else {
      EXPECT_EQ(r->dead, 1);
    }
  }
  EXPECT_EQ(ZMembers(keys().Dead("default")), std::vector<std::string>{id});
  EXPECT_TRUE(List(keys().Pending("default", Priority::kNormal)).empty());
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
  LeaseOne();
  clock_.Advance(options_.lease_ms + 1);
  auto r = broker_->RecoverExpired("default");
  ASSERT_OK(r);
  EXPECT_EQ(r->dead, 1);
  EXPECT_EQ(ZMembers(keys().Dead("default")), std::vector<std::string>{id});
}

TEST_F(RecoverExpiredScript, BoundedByLimit) {
  for (int i = 0; i < 10; ++i) Submit();
  auto jobs = broker_->Dequeue({"default", 10, {}, {}});
  ASSERT_OK(jobs);
  clock_.Advance(options_.lease_ms + 1);
  auto r = broker_->RecoverExpired("default", 4);
  ASSERT_OK(r);
  EXPECT_EQ(r->recovered, 4);
  EXPECT_EQ(ZMembers(keys().Leases("default")).size(), 6u);
}

}  // namespace
}  // namespace bananas::testing
