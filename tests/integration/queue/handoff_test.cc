// Hand-off to idle workers: a dequeue that finds nothing registers a worker idle, and the
// next enqueue leases a job straight to that worker's inbox (enqueue.lua, dequeue.lua).
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "queue_fixture.h"

namespace bananas::testing {
namespace {

using std::chrono::milliseconds;

class Handoff : public QueueTest {
 protected:
  // One dequeue by worker `worker` that serves everything; returns what it leased.
  std::vector<queue::LeasedJob> Fetch(const std::string& worker, bool may_be_registered = false) {
    queue::DequeueRequest request("default", 10);
    request.handoff_worker = worker;
    request.may_be_registered = may_be_registered;
    auto r = broker_->Dequeue(request);
    EXPECT_OK(r);
    return r.ok() ? *r : std::vector<queue::LeasedJob>{};
  }
  std::string Registration(const std::string& worker) { return "30000 " + worker; }
  std::string Inbox(const std::string& worker) { return keys().Inbox("default", worker); }
};

TEST_F(Handoff, IdleWorkerGetsTheNewJobLeasedInItsInbox) {
  EXPECT_TRUE(Fetch("w1").empty());
  EXPECT_EQ(ZScore(keys().IdleWorkers("default"), Registration("w1")), kStart + 3000);

  std::string id = Submit("send", Priority::kHigh);
  // Leased to w1 by the enqueue itself: same fields as a dequeue writes.
  EXPECT_TRUE(PendingIds(Priority::kHigh).empty());
  EXPECT_EQ(List(keys().Marker("default")).size(), 0u);  // nobody else needs waking
  Job leased = Get(id);
  EXPECT_EQ(leased.state, JobState::kActive);
  EXPECT_EQ(leased.attempts, 1);  // the run in progress
  EXPECT_EQ(LeaseDeadline(id), kStart + 30'000);
  EXPECT_EQ(ZScore(keys().IdleWorkers("default"), Registration("w1")), -1);  // used up

  auto blocking = Connect();
  std::optional<queue::LeasedJob> handed;
  auto woken = broker_->WaitForWork(*blocking, {"default"}, milliseconds(100), "", "w1",
                                    {"default"}, &handed);
  ASSERT_OK(woken);
  EXPECT_TRUE(*woken);
  ASSERT_TRUE(handed.has_value());
  EXPECT_EQ(handed->id, id);
  EXPECT_EQ(handed->queue, "default");
  EXPECT_EQ(handed->token, 1);
  EXPECT_EQ(handed->attempts, 1);
  EXPECT_EQ(handed->max_retries, 3);
  EXPECT_EQ(handed->name, "send");
  EXPECT_EQ(handed->priority, Priority::kHigh);
  EXPECT_EQ(handed->created_unix_ms, kStart);
  // The handed job completes like any other.
  auto acked = broker_->Ack("default", {{id, handed->token, "ok"}});
  ASSERT_OK(acked);
  EXPECT_TRUE(acked->front());
}

TEST_F(Handoff, PayloadBytesSurviveTheInbox) {
  EXPECT_TRUE(Fetch("w1").empty());
  JobSpec spec;
  spec.name = "bytes";
  spec.payload = std::string("a:1:b\0\xff\n", 8) + std::string(70'000, 'x');
  auto r = broker_->Enqueue(spec);
  ASSERT_OK(r);
  auto jobs = Fetch("w1", /*may_be_registered=*/true);  // the inbox is emptied by a dequeue too
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].id, r->id);
  EXPECT_EQ(jobs[0].payload, spec.payload);
  EXPECT_EQ(Cmd({"EXISTS", Inbox("w1")}).integer, 0);
}

TEST_F(Handoff, ARegistrationServesOneJobAndTheOldestHighestFirst) {
  EXPECT_TRUE(Fetch("w1").empty());
  std::vector<JobSpec> specs(3);
  specs[0].name = "low";
  specs[0].priority = Priority::kLow;
  specs[1].name = "high";
  specs[1].priority = Priority::kHigh;
  specs[2].name = "normal";
  auto r = broker_->EnqueueBatch(specs);
  ASSERT_OK(r);
  auto jobs = Fetch("w1", true);
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].name, "high");  // handed over by the enqueue
  EXPECT_EQ(jobs[1].name, "normal");
  EXPECT_EQ(jobs[2].name, "low");
  // Two jobs stayed pending for anyone, with a marker token each.
  EXPECT_EQ(List(keys().Marker("default")).size(), 2u);
}

TEST_F(Handoff, NothingIsHandedWhilePausedOrAfterTheRegistrationExpired) {
  EXPECT_TRUE(Fetch("w1").empty());
  ASSERT_OK(broker_->Pause("default"));
  std::string paused = Submit();
  EXPECT_EQ(State(paused), "pending");
  ASSERT_OK(broker_->Resume("default"));
  EXPECT_TRUE(Fetch("w2", false).size() == 1u);  // w2 takes it the normal way

  Cmd({"DEL", keys().Marker("default")});  // the paused job's token, left unused
  EXPECT_TRUE(Fetch("w3").empty());
  clock_.Advance(3001);  // w3 has not renewed: maybe it crashed
  std::string late = Submit();
  EXPECT_EQ(State(late), "pending");
  EXPECT_EQ(Cmd({"EXISTS", Inbox("w3")}).integer, 0);
}

// A stored token says no worker is waiting: the enqueue does not read the registrations,
// and the registered worker, when it takes the token, dequeues the job itself.
TEST_F(Handoff, AStoredTokenMeansTheOrdinaryPath) {
  EXPECT_TRUE(Fetch("w1").empty());
  Cmd({"LPUSH", keys().Marker("default"), "1"});
  std::string id = Submit();
  EXPECT_EQ(State(id), "pending");
  EXPECT_EQ(List(keys().Marker("default")).size(), 1u);  // one token is enough for one job
  auto jobs = Fetch("w1", true);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].id, id);
}

// Issue 13: a cancelled pending job stays in its list (a tombstone) until a dequeue drops
// it; an enqueue handing the oldest job to an idle worker must not lease it either.
TEST_F(Handoff, ACancelledJobIsNeverHandedOver) {
  EXPECT_TRUE(Fetch("w1").empty());
  ASSERT_OK(broker_->Pause("default"));  // no hand-off while paused: the job stays pending
  std::string cancelled = Submit();
  auto c = broker_->Cancel(cancelled);
  ASSERT_OK(c);
  EXPECT_EQ(*c, queue::CancelOutcome::kCancelled);
  ASSERT_OK(broker_->Resume("default"));
  Cmd({"DEL", keys().Marker("default")});  // Resume's token: w1 is still waiting
  std::string live = Submit();
  EXPECT_EQ(State(cancelled), "cancelled");
  EXPECT_EQ(Get(cancelled).attempts, 0);
  auto jobs = Fetch("w1", true);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].id, live);
  EXPECT_TRUE(Fetch("w1", true).empty());  // registered idle again
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kNormal)], 0);
  // The pending count is right for the next job too.
  ASSERT_OK(broker_->Pause("default"));
  Submit();
  counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kNormal)], 1);
}

TEST_F(Handoff, WorkersWithAFilterNeverRegister) {
  queue::DequeueRequest typed("default", 10, {"email"});
  typed.handoff_worker = "typed";
  ASSERT_OK(broker_->Dequeue(typed));
  queue::DequeueRequest high_only("default", 10, {}, {Priority::kHigh});
  high_only.handoff_worker = "high-only";
  ASSERT_OK(broker_->Dequeue(high_only));
  EXPECT_TRUE(ZMembers(keys().IdleWorkers("default")).empty());
}

TEST_F(Handoff, ALeavingWorkerTakesBackItsRegistrationAndInbox) {
  EXPECT_TRUE(Fetch("w1").empty());
  std::string id = Submit();
  EXPECT_TRUE(Fetch("w2").empty());  // registered after the hand-off: still idle

  queue::DequeueRequest leaving("default", 10);
  leaving.handoff_worker = "w1";
  leaving.leaving = true;
  auto r = broker_->Dequeue(leaving);
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].id, id);
  auto released = broker_->Release("default", {{id, (*r)[0].token}});
  ASSERT_OK(released);
  EXPECT_TRUE(released->front());
  EXPECT_EQ(State(id), "pending");
  // w1 is gone from the idle set and its inbox is gone; w2 is still registered.
  EXPECT_EQ(ZMembers(keys().IdleWorkers("default")), std::vector<std::string>{Registration("w2")});
  EXPECT_EQ(Cmd({"EXISTS", Inbox("w1")}).integer, 0);
}

TEST_F(Handoff, AJobHandedToACrashedWorkerComesBackByLeaseExpiry) {
  EXPECT_TRUE(Fetch("crashed").empty());
  std::string id = Submit();
  EXPECT_EQ(State(id), "active");
  // Nobody reads the inbox. The lease runs out and the sweep hands the job back.
  EXPECT_GT(Cmd({"PTTL", Inbox("crashed")}).integer, 0);  // the inbox goes away by itself
  clock_.Advance(30'001);
  auto recovered = broker_->RecoverExpired("default");
  ASSERT_OK(recovered);
  EXPECT_EQ(recovered->recovered, 1);
  auto jobs = Fetch("w2");
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].id, id);
  EXPECT_EQ(jobs[0].token, 2);  // the crashed worker's token is fenced off
}

}  // namespace
}  // namespace bananas::testing
