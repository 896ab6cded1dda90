#include <string>
#include <vector>

#include "queue_fixture.h"

namespace bananas::testing {
namespace {

class CancelScript : public QueueTest {};

TEST_F(CancelScript, PendingJobIsRemovedAndNeverLeased) {
  std::string keep = Submit();
  std::string cancel = Submit();
  auto r = broker_->Cancel(cancel);
  ASSERT_OK(r);
  EXPECT_EQ(*r, queue::CancelOutcome::kCancelled);
  EXPECT_EQ(List(keys().Pending("default", Priority::kNormal)), std::vector<std::string>{keep});
  EXPECT_EQ(HGet(keys().Job("default", cancel), "state"), "cancelled");
  EXPECT_GT(Cmd({"PTTL", keys().Job("default", cancel)}).integer, 0);
  auto jobs = broker_->Dequeue({"default", 10, {}, {}});
  ASSERT_OK(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].id, keep);
}

TEST_F(CancelScript, ScheduledJobIsRemoved) {
  JobSpec spec;
  spec.name = "later";
  spec.run_at_unix_ms = kStart + 1000;
  auto job = broker_->Enqueue(spec);
  ASSERT_OK(job);
  auto r = broker_->Cancel(job->id);
  ASSERT_OK(r);
  EXPECT_EQ(*r, queue::CancelOutcome::kCancelled);
  EXPECT_TRUE(ZMembers(keys().Scheduled("default")).empty());
}

TEST_F(CancelScript, ActiveJobGetsRequestAndTerminalIsRefused) {
  std::string id = Submit();
  auto job = LeaseOne();
  auto r = broker_->Cancel(id);
  ASSERT_OK(r);
  EXPECT_EQ(*r, queue::CancelOutcome::kRequested);
  EXPECT_EQ(HGet(keys().Job("default", id), "state"), "active");
  EXPECT_EQ(HGet(keys().Job("default", id), "cancel"), "1");
  ASSERT_OK(broker_->Ack("default", {{id, job.token, ""}}));
  auto again = broker_->Cancel(id);
  ASSERT_OK(again);
  EXPECT_EQ(*again, queue::CancelOutcome::kTerminal);
  EXPECT_EQ(HGet(keys().Job("default", id), "state"), "completed");
}

TEST_F(CancelScript, UnknownIdIsNotFound) {
  auto r = broker_->Cancel("not-an-id");
  ASSERT_OK(r);
  EXPECT_EQ(*r, queue::CancelOutcome::kNotFound);
  auto r2 = broker_->Cancel("01JD0000000000000000000000-default");
  ASSERT_OK(r2);
  EXPECT_EQ(*r2, queue::CancelOutcome::kNotFound);
  EXPECT_EQ(KeyCount(), 0);
}

}  // namespace
}  // namespace bananas::testing
