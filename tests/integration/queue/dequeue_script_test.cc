#include <set>
#include <string>
#include <vector>

#include "queue_fixture.h"

namespace bananas::testing {
namespace {

class DequeueScript : public QueueTest {};

TEST_F(DequeueScript, GrantsLeaseWithFencingToken) {
  std::string id = Submit("work");
  auto job = LeaseOne();
  EXPECT_EQ(job.id, id);
  EXPECT_EQ(job.name, "work");
  EXPECT_EQ(job.token, 1);
  EXPECT_EQ(job.attempts, 1);
  EXPECT_EQ(ZScore(keys().Leases("default"), id), kStart + options_.lease_ms);
  EXPECT_TRUE(List(keys().Pending("default", Priority::kNormal)).empty());
  const std::string jk = keys().Job("default", id);
  EXPECT_EQ(HGet(jk, "state"), "active");
  EXPECT_EQ(HGet(jk, "token"), "1");
  EXPECT_EQ(HGet(jk, "started"), std::to_string(kStart));
}

TEST_F(DequeueScript, StrictPriorityOrder) {
  // Interleave submissions so that arrival order and priority order differ.
  std::vector<std::string> low, normal, high;
  for (int i = 0; i < 5; ++i) {
    low.push_back(Submit("j", Priority::kLow));
    normal.push_back(Submit("j", Priority::kNormal));
    high.push_back(Submit("j", Priority::kHigh));
  }
  std::vector<std::string> expected = high;
  expected.insert(expected.end(), normal.begin(), normal.end());
  expected.insert(expected.end(), low.begin(), low.end());

  std::vector<std::string> got;
  // Batches of 4 cross priority boundaries inside one call.
  while (got.size() < expected.size()) {
    auto r = broker_->Dequeue({"default", 4, {}, {}});
    ASSERT_OK(r);
    ASSERT_FALSE(r->empty());
    for (auto& j : *r) got.push_back(j.id);
  }
  EXPECT_EQ(got, expected);
}

TEST_F(DequeueScript, HigherPriorityArrivingLaterGoesFirst) {
  Submit("j", Priority::kLow);
  std::string h = Submit("j", Priority::kHigh);
  EXPECT_EQ(LeaseOne().id, h);
}

TEST_F(DequeueScript, UnservedJobTypeIsNeverTaken) {
  std::string a1 = Submit("resize");
  std::string b1 = Submit("email");
  std::string a2 = Submit("resize");
  std::string b2 = Submit("email", Priority::kHigh);
  auto r = broker_->Dequeue({"default", 10, {"email"}, {}});
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].id, b2);  // high first
  EXPECT_EQ((*r)[1].id, b1);
  // The resize jobs stay pending, in order, never leased.
  EXPECT_EQ(List(keys().Pending("default", Priority::kNormal)), (std::vector<std::string>{a2, a1}));
  EXPECT_EQ(HGet(keys().Job("default", a1), "state"), "pending");
  EXPECT_EQ(HGet(keys().Job("default", a1), "token"), "0");
  auto again = broker_->Dequeue({"default", 10, {"email"}, {}});
  ASSERT_OK(again);
  EXPECT_TRUE(again->empty());
}

TEST_F(DequeueScript, UnservedRoutingKeyIsNeverTaken) {
  std::string gpu = Submit("train", Priority::kNormal, "gpu");
  auto r = broker_->Dequeue({"default", 10, {}, {}});
  ASSERT_OK(r);
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(List(keys().Pending("gpu", Priority::kNormal)), std::vector<std::string>{gpu});
  EXPECT_EQ(HGet(keys().Job("gpu", gpu), "state"), "pending");
}

TEST_F(DequeueScript, UnservedPriorityIsNeverTaken) {
  std::string high = Submit("j", Priority::kHigh);
  std::string low = Submit("j", Priority::kLow);
  queue::DequeueRequest request{"default", 10, {}, {Priority::kLow}};
  auto r = broker_->Dequeue(request);
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].id, low);
  EXPECT_EQ(List(keys().Pending("default", Priority::kHigh)), std::vector<std::string>{high});
  EXPECT_EQ(HGet(keys().Job("default", high), "state"), "pending");
}

TEST_F(DequeueScript, PausedQueueYieldsNothing) {
  std::string id = Submit();
  ASSERT_OK(broker_->Pause("default"));
  auto r = broker_->Dequeue({"default", 10, {}, {}});
  ASSERT_OK(r);
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(List(keys().Pending("default", Priority::kNormal)), std::vector<std::string>{id});
  EXPECT_EQ(HGet(keys().Job("default", id), "state"), "pending");
  EXPECT_TRUE(ZMembers(keys().Leases("default")).empty());
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_TRUE(counts->paused);

  ASSERT_OK(broker_->Resume("default"));
  EXPECT_EQ(LeaseOne().id, id);
}

TEST_F(DequeueScript, BatchTakesAtMostN) {
  for (int i = 0; i < 10; ++i) Submit();
  auto r = broker_->Dequeue({"default", 7, {}, {}});
  ASSERT_OK(r);
  EXPECT_EQ(r->size(), 7u);
  EXPECT_EQ(List(keys().Pending("default", Priority::kNormal)).size(), 3u);
  EXPECT_EQ(ZMembers(keys().Leases("default")).size(), 7u);
}

TEST_F(DequeueScript, ConcurrentWorkersNeverShareAJob) {
  constexpr int kJobs = 2000;
  std::vector<JobSpec> specs(kJobs);
  for (auto& s : specs) s.name = "j";
  ASSERT_OK(broker_->EnqueueBatch(specs));
  std::vector<std::vector<std::string>> taken(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto conn = Connect();
      queue::Broker b(*conn, options_, clock_);
      for (;;) {
        auto r = b.Dequeue({"default", 16, {}, {}});
        if (!r.ok() || r->empty()) return;
        for (auto& j : *r) taken[t].push_back(j.id);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  size_t total = 0;
  for (auto& v : taken) {
    total += v.size();
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(total, static_cast<size_t>(kJobs));
  EXPECT_EQ(all.size(), static_cast<size_t>(kJobs));
}

}  // namespace
}  // namespace bananas::testing
