#include <string>
#include <vector>

#include "queue_fixture.h"

namespace bananas::testing {
namespace {

class AckScript : public QueueTest {};
class ExtendLeaseScript : public QueueTest {};

TEST_F(AckScript, CompletesAndStoresResult) {
  std::string id = Submit();
  auto job = LeaseOne();
  clock_.Advance(250);
  auto r = broker_->Ack("default", {{id, job.token, "42"}});
  ASSERT_OK(r);
  EXPECT_EQ(*r, std::vector<bool>{true});
  Job done = Get(id);
  EXPECT_EQ(done.state, JobState::kCompleted);
  EXPECT_EQ(done.result, "42");
  EXPECT_EQ(done.finished_unix_ms, kStart + 250);
  EXPECT_EQ(done.attempts, 1);
  EXPECT_TRUE(LeasedIds().empty());
  // Kept RESULT_TTL_SUCCESS, give or take the width of the bucket it is stored in (1/16).
  int64_t pttl = FinishedTtl(id);
  EXPECT_GT(pttl, options_.result_ttl_success_ms - 1000);  // the clock is pinned, Redis' is not
  EXPECT_LE(pttl, options_.result_ttl_success_ms + options_.result_ttl_success_ms / 16);
}

TEST_F(AckScript, StaleTokenCannotAck) {
  std::string id = Submit();
  auto job = LeaseOne();
  auto r = broker_->Ack("default", {{id, job.token - 1, "stale"}, {id, job.token + 1, "future"}});
  ASSERT_OK(r);
  EXPECT_EQ(*r, (std::vector<bool>{false, false}));
  Job job_now = Get(id);
  EXPECT_EQ(job_now.state, JobState::kActive);
  EXPECT_EQ(job_now.result, "");
  EXPECT_EQ(LeaseDeadline(id), kStart + options_.lease_ms);
  EXPECT_EQ(FinishedTtl(id), -2);
}

TEST_F(AckScript, RecoveredLeaseCannotAckEvenWithItsOldToken) {
  // The old holder keeps its token, but the lease was recovered and re-granted.
  std::string id = Submit();
  auto first = LeaseOne();
  clock_.Advance(options_.lease_ms + 1);
  auto rec = broker_->RecoverExpired("default");
  ASSERT_OK(rec);
  EXPECT_EQ(rec->recovered, 1);
  // Before anyone re-leases it: the job is pending; the old token must not complete it.
  auto early = broker_->Ack("default", {{id, first.token, "late"}});
  ASSERT_OK(early);
  EXPECT_EQ(*early, std::vector<bool>{false});
  EXPECT_EQ(State(id), "pending");

  auto second = LeaseOne();
  EXPECT_EQ(second.token, first.token + 1);
  auto late = broker_->Ack("default", {{id, first.token, "late"}});
  ASSERT_OK(late);
  EXPECT_EQ(*late, std::vector<bool>{false});
  EXPECT_EQ(State(id), "active");
  auto good = broker_->Ack("default", {{id, second.token, "ok"}});
  ASSERT_OK(good);
  EXPECT_EQ(*good, std::vector<bool>{true});
  EXPECT_EQ(Get(id).result, "ok");
}

TEST_F(AckScript, BatchAcksEachJobOnItsOwnToken) {
  for (int i = 0; i < 3; ++i) Submit();
  auto jobs = broker_->Dequeue({"default", 3, {}, {}});
  ASSERT_OK(jobs);
  ASSERT_EQ(jobs->size(), 3u);
  auto r = broker_->Ack("default", {{(*jobs)[0].id, (*jobs)[0].token, "a"},
                                    {(*jobs)[1].id, 99, "b"},
                                    {(*jobs)[2].id, (*jobs)[2].token, "c"}});
  ASSERT_OK(r);
  EXPECT_EQ(*r, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(LeasedIds(), std::vector<std::string>{(*jobs)[1].id});
}

TEST_F(AckScript, TheLeasedRecordAndARecordReadBackGiveTheSameJob) {
  // The worker sends the record it leased; a Completion without one makes Ack read it.
  Submit();
  Submit();
  auto jobs = broker_->Dequeue({"default", 2, {}, {}});
  ASSERT_OK(jobs);
  ASSERT_EQ(jobs->size(), 2u);
  auto& a = (*jobs)[0];
  auto& b = (*jobs)[1];
  ASSERT_FALSE(a.record.empty());
  auto r = broker_->Ack("default", {{a.id, a.token, "r", a.record, kStart},
                                    {b.id, b.token, "r", "", 0}});
  ASSERT_OK(r);
  EXPECT_EQ(*r, (std::vector<bool>{true, true}));
  Job ja = Get(a.id), jb = Get(b.id);
  EXPECT_EQ(ja.state, JobState::kCompleted);
  EXPECT_EQ(jb.state, JobState::kCompleted);
  EXPECT_EQ(ja.name, jb.name);
  EXPECT_EQ(ja.attempts, 1);
  EXPECT_EQ(jb.attempts, 1);
  EXPECT_EQ(ja.result, "r");
  EXPECT_EQ(jb.result, "r");
}

TEST_F(AckScript, SecondAckIsRefused) {
  std::string id = Submit();
  auto job = LeaseOne();
  ASSERT_OK(broker_->Ack("default", {{id, job.token, "1"}}));
  auto again = broker_->Ack("default", {{id, job.token, "2"}});
  ASSERT_OK(again);
  EXPECT_EQ(*again, std::vector<bool>{false});
  EXPECT_EQ(Get(id).result, "1");
}

TEST_F(ExtendLeaseScript, RenewsOnlyCurrentHolder) {
  std::string id = Submit();
  auto job = LeaseOne();
  clock_.Advance(10'000);
  auto r = broker_->ExtendLeases("default", {{id, job.token}, {id, job.token + 5}});
  ASSERT_OK(r);
  EXPECT_EQ(*r, (std::vector<queue::LeaseState>{queue::LeaseState::kKept,
                                                queue::LeaseState::kLost}));
  EXPECT_EQ(LeaseDeadline(id), kStart + 10'000 + options_.lease_ms);
}

TEST_F(ExtendLeaseScript, RecoveredLeaseIsNotRevived) {
  std::string id = Submit();
  auto job = LeaseOne();
  clock_.Advance(options_.lease_ms + 1);
  ASSERT_OK(broker_->RecoverExpired("default"));
  auto r = broker_->ExtendLeases("default", {{id, job.token}});
  ASSERT_OK(r);
  EXPECT_EQ(*r, std::vector<queue::LeaseState>{queue::LeaseState::kLost});
  EXPECT_TRUE(LeasedIds().empty());
  EXPECT_EQ(State(id), "pending");
}

TEST_F(ExtendLeaseScript, ReportsCancellationRequest) {
  std::string id = Submit();
  auto job = LeaseOne();
  auto c = broker_->Cancel(id);
  ASSERT_OK(c);
  EXPECT_EQ(*c, queue::CancelOutcome::kRequested);
  auto r = broker_->ExtendLeases("default", {{id, job.token}});
  ASSERT_OK(r);
  EXPECT_EQ(*r, std::vector<queue::LeaseState>{queue::LeaseState::kCancelRequested});
}

}  // namespace
}  // namespace bananas::testing
