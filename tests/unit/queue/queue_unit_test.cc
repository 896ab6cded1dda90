#include <gtest/gtest.h>

#include "base/job_id.h"
#include "queue/job_codec.h"
#include "queue/keys.h"
#include "queue/lua_sources.h"
#include "queue/record.h"
#include "queue/retry_policy.h"

namespace bananas::queue {
namespace {

TEST(KeysTest, EveryQueueKeyCarriesTheHashTag) {
  Keys k("bananas");
  EXPECT_EQ(k.Pending("mail", Priority::kHigh), "bananas:{mail}:pending:high");
  EXPECT_EQ(k.Leases("mail"), "bananas:{mail}:leases");
  EXPECT_EQ(k.Jobs("mail"), "bananas:{mail}:jobs");
  EXPECT_EQ(k.EndedChannel("mail", "ID"), "bananas:{mail}:ended:ID");
  for (const auto& key : {k.Scheduled("q"), k.Retry("q"), k.Dead("q"), k.Paused("q"),
                          k.Marker("q"), k.Timer("q"), k.Jobs("q"), k.Tokens("q"), k.Seq("q"),
                          k.CancelRequests("q"), k.Watched("q"), k.DonePrefix("q"),
                          k.Buckets("q"), k.UniquePrefix("q")}) {
    EXPECT_NE(key.find("{q}"), std::string::npos) << key;
  }
  EXPECT_EQ(k.QueueRegistry(), "bananas:queues");
  EXPECT_EQ(k.Layout(), "bananas:layout");
}

TEST(RecordTest, RoundTripsEveryField) {
  Record r;
  r.priority = Priority::kLow;
  r.attempts = 2;
  r.recoveries = 1;
  r.lost = true;
  r.max_retries = 7;
  r.run_at_unix_ms = 1'700'000'000'123;
  r.name = "email.send";
  r.timeout_ms = 1500;
  r.created_unix_ms = 1'700'000'000'000;
  r.payload = std::string("bin\0ary|2:|", 12);  // separators and a NUL inside
  r.description = "welcome";
  r.unique_key = "u:1";
  r.errors_json = R"([{"attempt":1,"at":5,"error":"x"}])";
  std::string bytes = EncodeRecord(r);
  auto back = DecodeRecord(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->priority, Priority::kLow);
  EXPECT_EQ(back->attempts, 2);
  EXPECT_EQ(back->recoveries, 1);
  EXPECT_TRUE(back->lost);
  EXPECT_EQ(back->max_retries, 7);
  EXPECT_EQ(back->run_at_unix_ms, r.run_at_unix_ms);
  EXPECT_EQ(back->name, r.name);
  EXPECT_EQ(back->timeout_ms, 1500);
  EXPECT_EQ(back->created_unix_ms, r.created_unix_ms);
  EXPECT_EQ(back->payload, r.payload);
  EXPECT_EQ(back->description, r.description);
  EXPECT_EQ(back->unique_key, r.unique_key);
  EXPECT_EQ(back->errors_json, r.errors_json);
  EXPECT_EQ(RecordName(bytes), "email.send");
}

TEST(RecordTest, CompletedFinalRecordChargesTheRun) {
  Record r;
  r.name = "n";
  r.attempts = 1;
  std::string final = EncodeCompleted(EncodeRecord(r), 10, 20, "the result");
  auto f = DecodeFinal(final);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->state, JobState::kCompleted);
  EXPECT_EQ(f->started_unix_ms, 10);
  EXPECT_EQ(f->finished_unix_ms, 20);
  EXPECT_EQ(f->result, "the result");
  EXPECT_EQ(f->record.attempts, 2);
}

TEST(RecordTest, CorruptBytesAreNamedNotCrashed) {
  Record r;
  r.name = "n";
  r.payload = "p";
  std::string good = EncodeRecord(r);
  for (size_t cut = 0; cut < good.size(); ++cut) {
    auto bad = DecodeRecord(std::string_view(good).substr(0, cut));
    EXPECT_FALSE(bad.ok()) << cut;
    if (!bad.ok()) {
      EXPECT_EQ(bad.status().code(), Status::Code::kCorruption) << bad.status().ToString();
    }
  }
  EXPECT_FALSE(DecodeRecord("1|n|0|0|0|3|0|1:n").ok());  // another layout
  EXPECT_FALSE(DecodeFinal("z").ok());
  EXPECT_EQ(RecordName("garbage"), "");
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
