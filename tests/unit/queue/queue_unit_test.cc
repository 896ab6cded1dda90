#include <gtest/gtest.h>

#include "base/job_id.h"
#include "queue/job_codec.h"
#include "queue/keys.h"
#include "queue/lua_sources.h"
#include "queue/retry_policy.h"

namespace bananas::queue {
namespace {

TEST(KeysTest, EveryQueueKeyCarriesTheHashTag) {
  Keys k("bananas");
  EXPECT_EQ(k.Pending("mail", Priority::kHigh), "bananas:{mail}:pending:high");
  EXPECT_EQ(k.Leases("mail"), "bananas:{mail}:leases");
  EXPECT_EQ(k.Job("mail", "ID"), "bananas:{mail}:job:ID");
  for (const auto& key : {k.Scheduled("q"), k.Retry("q"), k.Dead("q"), k.Paused("q"),
                          k.Marker("q"), k.Timer("q"), k.JobPrefix("q"), k.UniquePrefix("q")}) {
    EXPECT_NE(key.find("{q}"), std::string::npos) << key;
  }
  EXPECT_EQ(k.QueueRegistry(), "bananas:queues");
}

TEST(KeysTest, JobKeyFromIdUsesTheIdsQueue) {
  Keys k("p");
  std::string id = NewJobId("gpu", 1'700'000'000'000);
  EXPECT_EQ(k.JobFromId(id), "p:{gpu}:job:" + id);
  EXPECT_EQ(k.JobFromId("garbage"), "");
}

TEST(RetryPolicyTest, DoublesFromBaseUpToCap) {
  RetryPolicy p;
  p.base = std::chrono::milliseconds(500);
  p.cap = std::chrono::milliseconds(3000);
  p.jitter = 0;
  EXPECT_EQ(p.DelayAfter(1, 0.5).count(), 500);
  EXPECT_EQ(p.DelayAfter(2, 0.5).count(), 1000);
  EXPECT_EQ(p.DelayAfter(3, 0.5).count(), 2000);
  EXPECT_EQ(p.DelayAfter(4, 0.5).count(), 3000);
  EXPECT_EQ(p.DelayAfter(60, 0.5).count(), 3000);
  EXPECT_EQ(p.DelayAfter(0, 0.5).count(), 500);  // clamped to the first attempt
}

TEST(RetryPolicyTest, JitterShortensWithinFraction) {
  RetryPolicy p;
  p.base = std::chrono::milliseconds(1000);
  p.jitter = 0.5;
  EXPECT_EQ(p.DelayAfter(1, 0.0).count(), 1000);
  EXPECT_EQ(p.DelayAfter(1, 1.0).count(), 500);
  EXPECT_EQ(p.DelayAfter(1, 0.5).count(), 750);
}

TEST(JobCodecTest, DecodesFieldsAndHistory) {
  auto job = DecodeJob("ID", {{"name", "n"},
                              {"state", "retrying"},
                              {"priority", "low"},
                              {"attempts", "2"},
                              {"created", "1700000000000"},
                              {"errors", R"([{"attempt":1,"at":1700000000001,"error":"x"}])"}});
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->state, JobState::kRetrying);
  EXPECT_EQ(job->priority, Priority::kLow);
  EXPECT_EQ(job->attempts, 2);
  ASSERT_EQ(job->errors.size(), 1u);
  EXPECT_EQ(job->errors[0].at_unix_ms, 1'700'000'000'001);
  EXPECT_EQ(job->errors[0].message, "x");
}

TEST(JobCodecTest, CorruptFieldIsNamed) {
  auto job = DecodeJob("ID", {{"name", "n"}, {"state", "pending"}, {"attempts", "two"}});
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), Status::Code::kCorruption);
  EXPECT_NE(job.status().message().find("attempts"), std::string::npos);
  EXPECT_FALSE(DecodeJob("ID", {{"name", "n"}}).ok());  // no state
}

TEST(LuaSourcesTest, EveryScriptIsEmbeddedWithItsHeader) {
  for (const char* name : {"ack", "cancel", "dequeue", "enqueue", "extend_lease", "fail",
                           "promote_due", "purge_dead", "recover_expired", "retry_dead"}) {
    std::string_view src = LuaSource(name);
    ASSERT_FALSE(src.empty()) << name;
    EXPECT_EQ(src.substr(0, 5), "#!lua") << name;  // Redis 7 flags: refused whole when OOM
    EXPECT_NE(src.find(std::string("-- ") + name + ".lua:"), std::string_view::npos) << name;
    EXPECT_NE(src.find("Guarantee:"), std::string_view::npos) << name;
  }
  EXPECT_TRUE(LuaSource("nope").empty());
}

}  // namespace
}  // namespace bananas::queue
