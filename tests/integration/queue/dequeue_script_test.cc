#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
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
  EXPECT_EQ(LeaseDeadline(id), kStart + options_.lease_ms);
  EXPECT_TRUE(PendingIds(Priority::kNormal).empty());
  Job leased = Get(id);
  EXPECT_EQ(leased.state, JobState::kActive);
  EXPECT_EQ(leased.attempts, 1);
  EXPECT_EQ(leased.started_unix_ms, kStart);
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
  EXPECT_EQ(PendingIds(Priority::kNormal), (std::vector<std::string>{a2, a1}));
  EXPECT_EQ(State(a1), "pending");
  EXPECT_EQ(LeaseDeadline(a1), -1);
  auto again = broker_->Dequeue({"default", 10, {"email"}, {}});
  ASSERT_OK(again);
  EXPECT_TRUE(again->empty());
}

// Issue 13, item 8: a type-filtered dequeue used to look at the oldest 200 ids per priority
// only, so 200 old jobs of a type nobody serves hid every newer job from filtered workers.
std::vector<JobSpec> Named(const std::string& name, int n) {
  std::vector<JobSpec> specs(static_cast<size_t>(n));
  for (auto& s : specs) s.name = name;
  return specs;
}

std::vector<std::string> Ids(const std::vector<queue::EnqueueResult>& results) {
  std::vector<std::string> out;
  for (const auto& r : results) out.push_back(r.id);
  return out;
}

TEST_F(DequeueScript, FilteredWorkerIsNotStarvedByOldUnservedJobs) {
  ASSERT_OK(broker_->EnqueueBatch(Named("resize", 1000)));
  std::string email = Submit("email");
  // Bound: one call (the newest ids are looked at by every filtered dequeue).
  auto r = broker_->Dequeue({"default", 1, {"email"}, {}});
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].id, email);
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kNormal)], 1000);
}

TEST_F(DequeueScript, FilteredWorkerReachesAServedJobAmidUnservedOnes) {
  auto before = broker_->EnqueueBatch(Named("resize", 1000));
  ASSERT_OK(before);
  std::string email = Submit("email");
  auto after = broker_->EnqueueBatch(Named("resize", 1000));
  ASSERT_OK(after);
  // The stated bound: a served job is leased within ceil(len / W) calls that come back
  // empty, W = type_filter_scan, for a list nobody else changes meanwhile (from a cursor
  // left anywhere by earlier calls: 2 * ceil(len / W)).
  const int len = 2001;
  const int bound = (len + options_.type_filter_scan - 1) / options_.type_filter_scan;
  int calls = 0;
  std::vector<queue::LeasedJob> got;
  while (got.empty() && calls < 10 * bound) {
    auto r = broker_->Dequeue({"default", 1, {"email"}, {}});
    ASSERT_OK(r);
    got = *r;
    ++calls;
  }
  ASSERT_EQ(got.size(), 1u) << "not leased after " << calls << " calls";
  EXPECT_EQ(got[0].id, email);
  EXPECT_LE(calls, bound);

  // The unserved jobs were never taken and kept their order; the email job is not leased
  // twice, and the counts leave it out.
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kNormal)], 2000);
  EXPECT_EQ(counts->active, 1);
  std::vector<std::string> expected = Ids(*before);
  for (const auto& id : Ids(*after)) expected.push_back(id);
  std::vector<std::string> drained;
  for (;;) {
    auto r = broker_->Dequeue({"default", 300, {}, {}});
    ASSERT_OK(r);
    if (r->empty()) break;
    for (const auto& j : *r) drained.push_back(j.id);
  }
  EXPECT_EQ(drained, expected);
  counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kNormal)], 0);
}

TEST_F(DequeueScript, UnservedRoutingKeyIsNeverTaken) {
  std::string gpu = Submit("train", Priority::kNormal, "gpu");
  auto r = broker_->Dequeue({"default", 10, {}, {}});
  ASSERT_OK(r);
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(PendingIds(Priority::kNormal, "gpu"), std::vector<std::string>{gpu});
  EXPECT_EQ(State(gpu), "pending");
}

TEST_F(DequeueScript, UnservedPriorityIsNeverTaken) {
  std::string high = Submit("j", Priority::kHigh);
  std::string low = Submit("j", Priority::kLow);
  queue::DequeueRequest request{"default", 10, {}, {Priority::kLow}};
  auto r = broker_->Dequeue(request);
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].id, low);
  EXPECT_EQ(PendingIds(Priority::kHigh), std::vector<std::string>{high});
  EXPECT_EQ(State(high), "pending");
}

TEST_F(DequeueScript, PausedQueueYieldsNothing) {
  std::string id = Submit();
  ASSERT_OK(broker_->Pause("default"));
  auto r = broker_->Dequeue({"default", 10, {}, {}});
  ASSERT_OK(r);
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(PendingIds(Priority::kNormal), std::vector<std::string>{id});
  EXPECT_EQ(State(id), "pending");
  EXPECT_TRUE(LeasedIds().empty());
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
  EXPECT_EQ(PendingIds(Priority::kNormal).size(), 3u);
  EXPECT_EQ(LeasedIds().size(), 7u);
}

// Issue 13, item 9: a cancelled pending job stays in its list as a tombstone (cancel is
// O(1)); a dequeue skips it and still fills its batch, and the counts leave it out.
TEST_F(DequeueScript, BatchIsFilledPastCancelledJobs) {
  auto r = broker_->EnqueueBatch(Named("j", 10));
  ASSERT_OK(r);
  std::vector<std::string> ids = Ids(*r);
  for (int i = 0; i < 5; ++i) {
    auto c = broker_->Cancel(ids[i]);
    ASSERT_OK(c);
    EXPECT_EQ(*c, queue::CancelOutcome::kCancelled);
  }
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kNormal)], 5);
  auto jobs = broker_->Dequeue({"default", 5, {}, {}});
  ASSERT_OK(jobs);
  std::vector<std::string> got;
  for (const auto& j : *jobs) got.push_back(j.id);
  EXPECT_EQ(got, std::vector<std::string>(ids.begin() + 5, ids.end()));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(State(ids[i]), "cancelled");
    EXPECT_EQ(Get(ids[i]).attempts, 0);
  }
  counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kNormal)], 0);
  EXPECT_EQ(counts->active, 5);
}

TEST_F(DequeueScript, ALongRunOfCancelledJobsIsCrossedInOneDequeue) {
  auto r = broker_->EnqueueBatch(Named("j", 2500));
  ASSERT_OK(r);
  std::vector<std::string> ids = Ids(*r);
  for (size_t i = 0; i + 1 < ids.size(); ++i) ASSERT_OK(broker_->Cancel(ids[i]));
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kNormal)], 1);
  // A script call drops at most 1000 tombstones; Dequeue calls again while it has nothing.
  auto jobs = broker_->Dequeue({"default", 1, {}, {}});
  ASSERT_OK(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].id, ids.back());
  counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kNormal)], 0);
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

// Filtered and unfiltered workers and a canceller at once, over lists long enough for the
// filtered dequeues' middle windows to lease in place: every job that was not cancelled is
// leased exactly once, a cancelled one never, and the counts end at zero.
TEST_F(DequeueScript, MixedWorkersAndCancelsNeverShareOrLoseAJob) {
  constexpr int kJobs = 6000;
  std::vector<JobSpec> specs(kJobs);
  for (int i = 0; i < kJobs; ++i) {
    specs[static_cast<size_t>(i)].name = i % 5 == 0 ? "b" : (i % 7 == 0 ? "c" : "a");
    specs[static_cast<size_t>(i)].priority = static_cast<Priority>(i % kPriorityCount);
  }
  auto enqueued = broker_->EnqueueBatch(specs);
  ASSERT_OK(enqueued);
  std::vector<std::string> ids = Ids(*enqueued);

  struct Taker {
    std::vector<std::string> types;
    int batch;
  };
  const std::vector<Taker> takers = {{{"b"}, 3}, {{"c"}, 2}, {{"b", "c"}, 5}, {{}, 4}};
  std::vector<std::vector<std::string>> taken(takers.size());
  std::vector<std::string> cancelled;
  std::atomic<bool> cancelling{true};
  std::vector<std::thread> threads;
  for (size_t t = 0; t < takers.size(); ++t) {
    threads.emplace_back([&, t] {
      auto conn = Connect();
      queue::Broker b(*conn, options_, clock_);
      int empty = 0;
      // Filtered takers see "no job" for a while in a long list; stop only after the
      // canceller is done and several calls in a row found nothing.
      while (cancelling || empty < 200) {
        auto r = b.Dequeue({"default", takers[t].batch, takers[t].types, {}});
        if (!r.ok()) return;
        empty = r->empty() ? empty + 1 : 0;
        for (auto& j : *r) taken[t].push_back(j.id);
      }
    });
  }
  {
    auto conn = Connect();
    queue::Broker b(*conn, options_, clock_);
    // Newest first: the takers reach those last, so most cancels find the job pending.
    for (size_t i = ids.size(); i >= 3; i -= 3) {
      auto r = b.Cancel(ids[i - 1]);
      ASSERT_OK(r);
      if (*r == queue::CancelOutcome::kCancelled) cancelled.push_back(ids[i - 1]);
    }
    cancelling = false;
  }
  for (auto& th : threads) th.join();
  // Whatever the filtered takers left (type "a" is nobody's but the unfiltered one's).
  for (;;) {
    auto r = broker_->Dequeue({"default", 500, {}, {}});
    ASSERT_OK(r);
    if (r->empty()) break;
    for (auto& j : *r) taken.back().push_back(j.id);
  }
  std::set<std::string> all;
  size_t total = 0;
  for (size_t t = 0; t < takers.size(); ++t) {
    total += taken[t].size();
    all.insert(taken[t].begin(), taken[t].end());
    for (const auto& id : taken[t]) {
      if (takers[t].types.empty()) continue;
      std::string name = Get(id).name;
      EXPECT_NE(std::find(takers[t].types.begin(), takers[t].types.end(), name),
                takers[t].types.end())
          << id << " of type " << name << " taken by a filtered worker";
    }
  }
  EXPECT_EQ(total, all.size()) << "a job was leased twice";
  std::set<std::string> expected(ids.begin(), ids.end());
  for (const auto& id : cancelled) {
    expected.erase(id);
    EXPECT_EQ(State(id), "cancelled");
    EXPECT_EQ(Get(id).attempts, 0);
  }
  EXPECT_EQ(all, expected);
  EXPECT_GT(cancelled.size(), 0u);
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  for (int p = 0; p < kPriorityCount; ++p) EXPECT_EQ(counts->pending[p], 0) << p;
  EXPECT_EQ(counts->active, static_cast<int64_t>(expected.size()));
}

// Windows of 3 ids, so that every filtered dequeue uses its three windows, deletes from both
// ends and moves its cursor: a random mix of enqueues, cancels and dequeues (filtered or
// not) against a model. No job is lost, leased twice, leased while cancelled or by a worker
// that does not serve its type, and the counts always match the model.
TEST_F(DequeueScript, SmallScanWindowsKeepEveryGuaranteeAgainstAModel) {
  options_.type_filter_scan = 3;
  ResetBroker();
  std::mt19937_64 rng(7);
  const std::vector<std::string> names = {"a", "b", "c"};
  const std::vector<std::vector<std::string>> filters = {{}, {"a"}, {"b"}, {"a", "c"}, {"c"}};
  std::map<std::string, std::pair<std::string, int>> live;  // pending: id -> (name, priority)
  std::set<std::string> leased_ids;
  std::set<std::string> cancelled_ids;
  for (int step = 0; step < 3000; ++step) {
    int op = static_cast<int>(rng() % 10);
    if (op < 5) {
      JobSpec spec;
      spec.name = names[rng() % names.size()];
      spec.priority = static_cast<Priority>(rng() % kPriorityCount);
      auto r = broker_->Enqueue(spec);
      ASSERT_OK(r);
      live[r->id] = {spec.name, static_cast<int>(spec.priority)};
    } else if (op < 6 && !live.empty()) {
      auto it = live.begin();
      std::advance(it, static_cast<long>(rng() % live.size()));
      auto r = broker_->Cancel(it->first);
      ASSERT_OK(r);
      ASSERT_EQ(*r, queue::CancelOutcome::kCancelled);
      cancelled_ids.insert(it->first);
      live.erase(it);
    } else {
      const auto& types = filters[rng() % filters.size()];
      auto r = broker_->Dequeue({"default", 1 + static_cast<int>(rng() % 4), types, {}});
      ASSERT_OK(r);
      for (const auto& j : *r) {
        ASSERT_TRUE(live.count(j.id)) << "step " << step << ": leased " << j.id
                                      << (leased_ids.count(j.id) ? " twice" : " while not pending");
        if (!types.empty()) {
          EXPECT_NE(std::find(types.begin(), types.end(), live[j.id].first), types.end());
        }
        leased_ids.insert(j.id);
        live.erase(j.id);
      }
    }
    auto counts = broker_->Counts("default");
    ASSERT_OK(counts);
    int64_t expected[kPriorityCount] = {0, 0, 0};
    for (const auto& [id, job] : live) ++expected[job.second];
    for (int p = 0; p < kPriorityCount; ++p) {
      ASSERT_EQ(counts->pending[p], expected[p]) << "step " << step << " priority " << p;
    }
  }
  // Everything still pending is there, and leased exactly once by a drain.
  for (;;) {
    auto r = broker_->Dequeue({"default", 50, {}, {}});
    ASSERT_OK(r);
    if (r->empty()) break;
    for (const auto& j : *r) {
      ASSERT_TRUE(live.count(j.id)) << j.id;
      live.erase(j.id);
    }
  }
  EXPECT_TRUE(live.empty()) << live.size() << " pending jobs lost";
  for (const auto& id : cancelled_ids) {
    EXPECT_EQ(Get(id).attempts, 0);
  }
}

}  // namespace
}  // namespace bananas::testing
