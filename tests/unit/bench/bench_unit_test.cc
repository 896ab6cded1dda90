// The I/O-free parts of src/bench: percentiles, INFO parsing and per-job cost, and the
// exact-delivery check.
#include <optional>
#include <string>
#include <vector>

#include "bench/delivery.h"
#include "bench/latency.h"
#include "bench/redis_cost.h"
#include "gtest/gtest.h"

namespace bananas::bench {
namespace {

TEST(Latency, PercentilesAreNearestRank) {
  std::vector<int64_t> samples;
  for (int64_t i = 1000; i >= 1; --i) samples.push_back(i * 1000);  // 1..1000 ms, unsorted
  LatencySummary s = Summarize(samples);
  EXPECT_EQ(s.count, 1000);
  EXPECT_DOUBLE_EQ(s.p50_ms, 500);
  EXPECT_DOUBLE_EQ(s.p90_ms, 900);
  EXPECT_DOUBLE_EQ(s.p99_ms, 990);
  EXPECT_DOUBLE_EQ(s.p999_ms, 999);
  EXPECT_DOUBLE_EQ(s.max_ms, 1000);
  EXPECT_DOUBLE_EQ(s.min_ms, 1);
  EXPECT_DOUBLE_EQ(s.mean_ms, 500.5);
}

TEST(Latency, SmallAndEmptySamples) {
  EXPECT_EQ(Summarize({}).count, 0);
  EXPECT_EQ(PercentileOfSorted({7}, 99.9), 7);
  EXPECT_EQ(PercentileOfSorted({1, 2}, 50), 1);
  EXPECT_EQ(PercentileOfSorted({1, 2}, 51), 2);
}

TEST(RedisCost, InfoDeltasPerJob) {
  RedisCounters before;
  ParseInfo(
      "# Commandstats\r\ncmdstat_evalsha:calls=10,usec=500,usec_per_call=50.00\r\n"
      "cmdstat_hset:calls=20,usec=40,usec_per_call=2.00\r\n"
      "cmdstat_info:calls=3,usec=30,usec_per_call=10.00\r\n"
      "# CPU\r\nused_cpu_sys:1.000000\r\nused_cpu_user:2.000000\r\n",
      before);
  EXPECT_EQ(before.calls.count("info"), 0u);
  RedisCounters after;
  ParseInfo(
      "cmdstat_evalsha:calls=30,usec=1500,usec_per_call=50.00\r\n"
      "cmdstat_hset:calls=60,usec=120,usec_per_call=2.00\r\n"
      "cmdstat_zadd:calls=10,usec=10,usec_per_call=1.00\r\n"
      "cmdstat_info:calls=9,usec=90,usec_per_call=10.00\r\n"
      "used_cpu_sys:1.000100\r\nused_cpu_user:2.000900\r\n",
      after);
  RedisCost cost = CostPerJob(before, after, 10);
  EXPECT_NEAR(cost.cpu_us_per_job, 100, 1e-6);  // 1000 µs over 10 jobs
  EXPECT_NEAR(cost.script_us_per_job, 100, 1e-9);
  EXPECT_NEAR(cost.calls_per_job, 7, 1e-9);  // (20 evalsha + 40 hset + 10 zadd) / 10
  EXPECT_NEAR(cost.calls_per_job_by_command.at("zadd"), 1, 1e-9);
  EXPECT_EQ(cost.calls_per_job_by_command.count("info"), 0u);
  EXPECT_EQ(CostPerJob(before, after, 0).calls_per_job, 0);
}

TEST(RunTracker, CheckFindsLostDuplicatedUnexpectedAndNotCompleted) {
  RunTracker tracker;
  for (const char* id : {"a", "b", "c", "d"}) tracker.Expect(id);
  tracker.Record("a", 10, std::nullopt);
  tracker.Record("b", 11, 5);
  tracker.Record("b", 12, std::nullopt);  // b ran twice
  tracker.Record("d", 13, std::nullopt);  // d ran, but Redis does not say completed
  tracker.Record("x", 9, std::nullopt);   // never submitted
  // c never ran.
  Delivery d = tracker.Check({true, true, false, false});
  EXPECT_EQ(d.submitted, 4);
  EXPECT_EQ(d.completed, 2);
  EXPECT_EQ(d.lost, 2);
  EXPECT_EQ(d.duplicates, 1);
  EXPECT_EQ(d.unexpected, 1);
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(tracker.runs(), 5);
  EXPECT_EQ(tracker.first_run_unix_us(), 9);
  EXPECT_EQ(tracker.last_run_unix_us(), 13);
  EXPECT_EQ(tracker.samples_us(), std::vector<int64_t>{5});
}

TEST(RunTracker, EveryJobOnceIsOk) {
  RunTracker tracker;
  tracker.Expect("a");
  tracker.Expect("b");
  tracker.Record("b", 1, std::nullopt);
  tracker.Record("a", 2, std::nullopt);
  EXPECT_TRUE(tracker.WaitForRuns(2, std::chrono::milliseconds(0)));
  EXPECT_TRUE(tracker.Check({true, true}).ok());
}

}  // namespace
}  // namespace bananas::bench
