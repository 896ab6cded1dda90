#include <string>
#include <vector>

#include "queue_fixture.h"

namespace bananas::testing {
namespace {

class PromoteDueScript : public QueueTest {};

TEST_F(PromoteDueScript, MovesOnlyDueJobsAndReportsNextDue) {
  JobSpec spec;
  spec.name = "later";
  spec.run_at_unix_ms = kStart + 100;
  auto a = broker_->Enqueue(spec);
  spec.run_at_unix_ms = kStart + 200;
  spec.priority = Priority::kHigh;
  auto b = broker_->Enqueue(spec);
  ASSERT_OK(a);
  ASSERT_OK(b);

  auto early = broker_->PromoteDue("default");
  ASSERT_OK(early);
  EXPECT_EQ(early->moved, 0);
  EXPECT_EQ(early->next_due_unix_ms, kStart + 100);

  clock_.Set(kStart + 150);
  auto mid = broker_->PromoteDue("default");
  ASSERT_OK(mid);
  EXPECT_EQ(mid->moved, 1);
  EXPECT_EQ(mid->next_due_unix_ms, kStart + 200);
  EXPECT_EQ(PendingIds(Priority::kNormal), std::vector<std::string>{a->id});
  EXPECT_EQ(State(a->id), "pending");
  EXPECT_EQ(State(b->id), "scheduled");
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->scheduled, 1);

  clock_.Set(kStart + 200);
  auto last = broker_->PromoteDue("default");
  ASSERT_OK(last);
  EXPECT_EQ(last->moved, 1);
  EXPECT_EQ(last->next_due_unix_ms, -1);
  EXPECT_EQ(PendingIds(Priority::kHigh), std::vector<std::string>{b->id});
  EXPECT_EQ(State(b->id), "pending");
  counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->scheduled, 0);
}

TEST_F(PromoteDueScript, DueJobIsTakenBeforeOlderBacklog) {
  std::string backlog = Submit();
  JobSpec spec;
  spec.name = "timed";
  spec.run_at_unix_ms = kStart + 10;
  auto timed = broker_->Enqueue(spec);
  ASSERT_OK(timed);
  clock_.Set(kStart + 10);
  ASSERT_OK(broker_->PromoteDue("default"));
  EXPECT_EQ(LeaseOne().id, timed->id);
}

TEST_F(PromoteDueScript, BoundedByLimit) {
  JobSpec spec;
  spec.name = "later";
  spec.run_at_unix_ms = kStart + 1;
  std::vector<JobSpec> specs(10, spec);
  ASSERT_OK(broker_->EnqueueBatch(specs));
  clock_.Set(kStart + 1);
  auto r = broker_->PromoteDue("default", 3);
  ASSERT_OK(r);
  EXPECT_EQ(r->moved, 3);
  EXPECT_EQ(r->next_due_unix_ms, kStart + 1);  // more are due: call again at once
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->scheduled, 7);
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kNormal)], 3);
}

}  // namespace
}  // namespace bananas::testing
