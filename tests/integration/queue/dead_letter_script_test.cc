#include <string>
#include <vector>

#include "queue_fixture.h"

namespace bananas::testing {
namespace {

class DeadLetterScripts : public QueueTest {
 protected:
  // A job that failed its only attempt: dead.
  std::string Kill(const std::string& name = "doomed") {
    std::string id = Submit(name, Priority::kLow, "default", 0);
    auto job = LeaseOne();
    last_token_ = job.token;
    auto r = broker_->Fail("default", {job.id, job.token, job.attempts, "fatal", true, false});
    EXPECT_TRUE(r.ok() && r->kind == queue::FailOutcome::Kind::kDead);
    clock_.Advance(1);
    return id;
  }

  // Ids in the DLQ, newest first.
  std::vector<std::string> DeadIds() {
    auto page = broker_->ListDead("default", 0, 1000);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> ids;
    if (page.ok()) {
      for (const Job& j : page->jobs) ids.push_back(j.id);
    }
    return ids;
  }

  int64_t last_token_ = 0;  // of the last job Kill leased
};

TEST_F(DeadLetterScripts, RetryOneMakesItPendingWithFreshAttempts) {
  std::string a = Kill();
  std::string b = Kill();
  auto r = broker_->RetryDead("default", {a, "missing-id"});
  ASSERT_OK(r);
  EXPECT_EQ(*r, 1);
  EXPECT_EQ(DeadIds(), std::vector<std::string>{b});
  EXPECT_EQ(PendingIds(Priority::kLow), std::vector<std::string>{a});
  auto job = broker_->GetJob(a);
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kPending);
  EXPECT_EQ(job->attempts, 0);
  EXPECT_EQ(job->errors.size(), 1u);  // history kept
  auto leased = LeaseOne();
  EXPECT_EQ(leased.id, a);
  EXPECT_EQ(leased.attempts, 1);
  EXPECT_GT(leased.token, last_token_);  // tokens never go back
}

TEST_F(DeadLetterScripts, RetryAllAndPurgeAll) {
  for (int i = 0; i < 5; ++i) Kill();
  auto page = broker_->ListDead("default", 1, 2);
  ASSERT_OK(page);
  EXPECT_EQ(page->total, 5);
  EXPECT_EQ(page->jobs.size(), 2u);

  auto retried = broker_->RetryDead("default", {}, 3);
  ASSERT_OK(retried);
  EXPECT_EQ(*retried, 3);
  EXPECT_EQ(DeadIds().size(), 2u);

  std::vector<std::string> remaining = DeadIds();
  auto purged = broker_->PurgeDead("default", {});
  ASSERT_OK(purged);
  EXPECT_EQ(*purged, 2);
  EXPECT_TRUE(DeadIds().empty());
  for (const auto& id : remaining) EXPECT_EQ(State(id), "notfound");
  EXPECT_EQ(PendingIds(Priority::kLow).size(), 3u);
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->dead, 0);
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kLow)], 3);
}

TEST_F(DeadLetterScripts, PurgeNeverDeletesALiveJob) {
  std::string live = Submit();
  auto r = broker_->PurgeDead("default", {live});
  ASSERT_OK(r);
  EXPECT_EQ(*r, 0);
  EXPECT_EQ(State(live), "pending");
}

TEST_F(DeadLetterScripts, CountsPerStateAndPriority) {
  Kill();  // first: it leases the only job there is
  Submit("a", Priority::kHigh);
  Submit("a", Priority::kLow);
  Submit("a", Priority::kLow);
  JobSpec later;
  later.name = "later";
  later.run_at_unix_ms = kStart + 100'000;
  ASSERT_OK(broker_->Enqueue(later));
  auto c = broker_->Counts("default");
  ASSERT_OK(c);
  EXPECT_EQ(c->pending[0], 1);
  EXPECT_EQ(c->pending[1], 0);
  EXPECT_EQ(c->pending[2], 2);
  EXPECT_EQ(c->scheduled, 1);
  EXPECT_EQ(c->dead, 1);
  EXPECT_EQ(c->active, 0);
  EXPECT_FALSE(c->paused);
  auto queues = broker_->Queues();
  ASSERT_OK(queues);
  EXPECT_EQ(*queues, std::vector<std::string>{"default"});
}

}  // namespace
}  // namespace bananas::testing
