#include <set>
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
  EXPECT_EQ(State(cancel), "cancelled");
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kNormal)], 1);
  EXPECT_GT(FinishedTtl(cancel), 0);  // kept RESULT_TTL_FAILURE, not for ever
  auto jobs = broker_->Dequeue({"default", 10, {}, {}});
  ASSERT_OK(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].id, keep);
  EXPECT_EQ(State(cancel), "cancelled");
  EXPECT_TRUE(broker_->Dequeue({"default", 10, {}, {}})->empty());
  counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kNormal)], 0);
}

// A cancelled job is never leased, whatever its priority or place, by a filtered or an
// unfiltered dequeue, and cancelling it twice says it is terminal.
TEST_F(CancelScript, CancelledJobIsNeverLeasedByAnyPath) {
  std::vector<std::string> cancelled;
  std::vector<std::string> kept;
  for (int i = 0; i < 300; ++i) {
    Priority p = static_cast<Priority>(i % kPriorityCount);
    std::string id = Submit(i % 2 == 0 ? "a" : "b", p);
    (i % 3 == 0 ? cancelled : kept).push_back(id);
  }
  for (const auto& id : cancelled) {
    auto r = broker_->Cancel(id);
    ASSERT_OK(r);
    EXPECT_EQ(*r, queue::CancelOutcome::kCancelled);
    auto again = broker_->Cancel(id);
    ASSERT_OK(again);
    EXPECT_EQ(*again, queue::CancelOutcome::kTerminal);
  }
  std::set<std::string> got;
  for (int i = 0; i < 100; ++i) {
    auto any = broker_->Dequeue({"default", 3, {}, {}});
    ASSERT_OK(any);
    for (const auto& j : *any) EXPECT_TRUE(got.insert(j.id).second) << j.id;
    auto a = broker_->Dequeue({"default", 7, {"a"}, {}});
    ASSERT_OK(a);
    for (const auto& j : *a) EXPECT_TRUE(got.insert(j.id).second) << j.id;
  }
  EXPECT_EQ(got, std::set<std::string>(kept.begin(), kept.end()));
  for (const auto& id : cancelled) {
    auto job = broker_->GetJob(id);
    ASSERT_OK(job);
    EXPECT_EQ(job->state, JobState::kCancelled);
    EXPECT_EQ(job->attempts, 0);
  }
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  for (int p = 0; p < kPriorityCount; ++p) EXPECT_EQ(counts->pending[p], 0);
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
  EXPECT_EQ(State(job->id), "cancelled");
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->scheduled, 0);
  clock_.Advance(2000);  // past its run_at: promotion finds nothing
  auto promoted = broker_->PromoteDue("default");
  ASSERT_OK(promoted);
  EXPECT_EQ(promoted->moved, 0);
}

TEST_F(CancelScript, ActiveJobGetsRequestAndTerminalIsRefused) {
  std::string id = Submit();
  auto job = LeaseOne();
  auto r = broker_->Cancel(id);
  ASSERT_OK(r);
  EXPECT_EQ(*r, queue::CancelOutcome::kRequested);
  auto active = broker_->GetJob(id);
  ASSERT_OK(active);
  EXPECT_EQ(active->state, JobState::kActive);
  EXPECT_TRUE(active->cancel_requested);
  auto heartbeat = broker_->ExtendLeases("default", {{id, job.token, true}});
  ASSERT_OK(heartbeat);
  EXPECT_EQ(*heartbeat, std::vector<queue::LeaseState>{queue::LeaseState::kCancelRequested});
  ASSERT_OK(broker_->Ack("default", {{id, job.token, ""}}));
  auto again = broker_->Cancel(id);
  ASSERT_OK(again);
  EXPECT_EQ(*again, queue::CancelOutcome::kTerminal);
  auto completed = broker_->GetJob(id);
  ASSERT_OK(completed);
  EXPECT_EQ(completed->state, JobState::kCompleted);
  EXPECT_FALSE(completed->cancel_requested);
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
