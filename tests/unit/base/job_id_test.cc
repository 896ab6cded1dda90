#include "base/job_id.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

namespace bananas {
namespace {

TEST(JobIdTest, CarriesQueueAndTime) {
  std::string id = NewJobId("mail.out", 1'700'000'000'123);
  EXPECT_EQ(id.size(), kUlidLength + 1 + 8);
  EXPECT_EQ(QueueOfJobId(id), "mail.out");
  EXPECT_EQ(TimeOfJobId(id), 1'700'000'000'123);
}

TEST(JobIdTest, SortsInCreationOrderEvenWithinOneMillisecond) {
  std::vector<std::string> ids;
  for (int i = 0; i < 10'000; ++i) ids.push_back(NewJobId("q", 1'700'000'000'000 + i / 1000));
  for (size_t i = 1; i < ids.size(); ++i) ASSERT_LT(ids[i - 1], ids[i]) << i;
}

TEST(JobIdTest, StaysMonotonicWhenClockStepsBack) {
  std::string a = NewJobId("q", 1'800'000'000'000);
  std::string b = NewJobId("q", 1'799'999'999'000);
  EXPECT_LT(a, b);
}

TEST(JobIdTest, UniqueAcrossThreads) {
  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) per_thread[t].push_back(NewJobId("q", 1'900'000'000'000));
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (auto& v : per_thread) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 20'000u);
}

TEST(JobIdTest, RejectsMalformedIds) {
  EXPECT_EQ(QueueOfJobId(""), "");
  EXPECT_EQ(QueueOfJobId("short-q"), "");
  EXPECT_EQ(QueueOfJobId("01JD000000000000000000000!-q"), "");
  EXPECT_EQ(QueueOfJobId("01JD0000000000000000000000q"), "");  // no separator
  // The queue part follows the queue-name rule: it ends up inside a {hash tag}.
  EXPECT_EQ(QueueOfJobId("01JD0000000000000000000000-a}b"), "");
  EXPECT_EQ(QueueOfJobId("01JD0000000000000000000000-a:b"), "");
  EXPECT_EQ(QueueOfJobId("01JD0000000000000000000000-" + std::string(65, 'q')), "");
  EXPECT_EQ(QueueOfJobId("01JD0000000000000000000000-" + std::string(64, 'q')), std::string(64, 'q'));
  EXPECT_EQ(TimeOfJobId("nope"), -1);
}

}  // namespace
}  // namespace bananas
