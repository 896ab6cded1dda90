#include <string>
#include <vector>

#include "base/job_id.h"
#include "queue/lua_sources.h"
#include "queue_fixture.h"

namespace bananas::testing {
namespace {

class EnqueueScript : public QueueTest {};

TEST_F(EnqueueScript, StoresJobPendingWithAllFields) {
  JobSpec spec;
  spec.name = "email.send";
  spec.payload = R"({"to":"a@b"})";
  spec.priority = Priority::kHigh;
  spec.queue = "mail";
  spec.max_retries = 7;
  spec.timeout_ms = 1500;
  spec.description = "welcome mail";
  auto r = broker_->Enqueue(spec);
  ASSERT_OK(r);
  EXPECT_FALSE(r->duplicate);
  EXPECT_EQ(QueueOfJobId(r->id), "mail");

  EXPECT_EQ(PendingIds(Priority::kHigh, "mail"), std::vector<std::string>{r->id});
  EXPECT_TRUE(PendingIds(Priority::kNormal, "mail").empty());
  EXPECT_TRUE(ZMembers(keys().Scheduled("mail")).empty());
  EXPECT_EQ(Cmd({"LLEN", keys().Marker("mail")}).integer, 1);  // one wake-up token
  EXPECT_EQ(Cmd({"SMEMBERS", keys().QueueRegistry()}).elements.size(), 1u);

  auto job = broker_->GetJob(r->id);
  ASSERT_OK(job);
  EXPECT_EQ(job->name, "email.send");
  EXPECT_EQ(job->payload, spec.payload);
  EXPECT_EQ(job->queue, "mail");
  EXPECT_EQ(job->priority, Priority::kHigh);
  EXPECT_EQ(job->state, JobState::kPending);
  EXPECT_EQ(job->max_retries, 7);
  EXPECT_EQ(job->timeout_ms, 1500);
  EXPECT_EQ(job->attempts, 0);
  EXPECT_EQ(job->description, "welcome mail");
  EXPECT_EQ(job->created_unix_ms, kStart);
  EXPECT_EQ(job->run_at_unix_ms, kStart);
}

TEST_F(EnqueueScript, FutureRunAtIsScheduledAndWakesScheduler) {
  JobSpec spec;
  spec.name = "later";
  spec.run_at_unix_ms = kStart + 5000;
  auto r = broker_->Enqueue(spec);
  ASSERT_OK(r);
  EXPECT_EQ(ZScore(keys().Scheduled("default"), r->id), kStart + 5000);
  EXPECT_TRUE(PendingIds(Priority::kNormal).empty());
  Job job = Get(r->id);
  EXPECT_EQ(job.state, JobState::kScheduled);
  EXPECT_EQ(job.run_at_unix_ms, kStart + 5000);
  EXPECT_EQ(Cmd({"LLEN", keys().Timer("default")}).integer, 1);
  EXPECT_EQ(Cmd({"LLEN", keys().Marker("default")}).integer, 0);  // nothing to run yet
}

TEST_F(EnqueueScript, IdsSortInCreationOrder) {
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    if (i % 50 == 0) clock_.Advance(1);
    ids.push_back(Submit());
  }
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_LT(ids[i - 1], ids[i]);
}

TEST_F(EnqueueScript, UniqueKeyReturnsFirstJobAndWritesNothing) {
  JobSpec spec;
  spec.name = "report";
  spec.unique_key = "report:2024-01";
  spec.unique_ttl_ms = 60'000;
  auto first = broker_->Enqueue(spec);
  ASSERT_OK(first);
  int64_t keys_before = KeyCount();
  auto second = broker_->Enqueue(spec);
  ASSERT_OK(second);
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(second->id, first->id);
  EXPECT_EQ(KeyCount(), keys_before);
  EXPECT_EQ(PendingIds(Priority::kNormal).size(), 1u);
  // The key is held with the ttl asked for.
  auto pttl = Cmd({"PTTL", keys().UniquePrefix("default") + "report:2024-01"}).integer;
  EXPECT_GT(pttl, 0);
  EXPECT_LE(pttl, 60'000);
}

TEST_F(EnqueueScript, UniqueKeyDuplicatesInsideOneBatch) {
  std::vector<JobSpec> specs(3);
  for (auto& s : specs) {
    s.name = "x";
    s.unique_key = "same";
  }
  auto r = broker_->EnqueueBatch(specs);
  ASSERT_OK(r);
  EXPECT_FALSE((*r)[0].duplicate);
  EXPECT_TRUE((*r)[1].duplicate);
  EXPECT_TRUE((*r)[2].duplicate);
  EXPECT_EQ((*r)[1].id, (*r)[0].id);
  EXPECT_EQ(PendingIds(Priority::kNormal).size(), 1u);
}

TEST_F(EnqueueScript, ResentBatchWithSameIdsIsIdempotent) {
  std::vector<JobSpec> specs(2);
  specs[0].name = "a";
  specs[1].name = "b";
  std::vector<std::string> ids = {NewJobId("default", kStart), NewJobId("default", kStart)};
  ASSERT_OK(broker_->EnqueueWithIds("default", specs, ids));
  // The reply was "lost"; the client sends the same batch again.
  auto again = broker_->EnqueueWithIds("default", specs, ids);
  ASSERT_OK(again);
  EXPECT_TRUE((*again)[0].duplicate);
  EXPECT_TRUE((*again)[1].duplicate);
  EXPECT_EQ(PendingIds(Priority::kNormal).size(), 2u);
}

TEST_F(EnqueueScript, ResentBatchIsIdempotentAfterItsJobsFinished) {
  // The first send went through and a worker completed the job before the reply came back.
  std::vector<JobSpec> specs(1);
  specs[0].name = "a";
  std::vector<std::string> ids = {NewJobId("default", kStart)};
  ASSERT_OK(broker_->EnqueueWithIds("default", specs, ids));
  auto job = LeaseOne();
  ASSERT_OK(broker_->Ack("default", {{job.id, job.token, "done"}}));
  auto again = broker_->EnqueueWithIds("default", specs, ids, /*resent=*/true);
  ASSERT_OK(again);
  EXPECT_TRUE((*again)[0].duplicate);
  EXPECT_TRUE(PendingIds(Priority::kNormal).empty());
  EXPECT_EQ(State(ids[0]), "completed");
}

TEST_F(EnqueueScript, UniqueKeyHeldByACompletedJobStillDeduplicates) {
  JobSpec spec;
  spec.name = "report";
  spec.unique_key = "once";
  spec.unique_ttl_ms = 60'000;
  auto first = broker_->Enqueue(spec);
  ASSERT_OK(first);
  auto job = LeaseOne();
  ASSERT_OK(broker_->Ack("default", {{job.id, job.token, "done"}}));
  auto second = broker_->Enqueue(spec);
  ASSERT_OK(second);
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(second->id, first->id);
}

TEST_F(EnqueueScript, BulkOfTenThousandIsAllOrNothing) {
  // All valid: every job is written, in one script call.
  std::vector<JobSpec> specs(10'000);
  for (size_t i = 0; i < specs.size(); ++i) {
    specs[i].name = "bulk";
    specs[i].payload = std::to_string(i);
  }
  auto ok = broker_->EnqueueBatch(specs);
  ASSERT_OK(ok);
  EXPECT_EQ(PendingIds(Priority::kNormal).size(), 10'000u);
  ASSERT_OK(Cmd({"FLUSHALL"}).is_error() ? Status::Internal("flush") : Status::Ok());

  // One invalid job, the last: nothing at all is written.
  specs.back().queue = "bad queue!";
  auto bad = broker_->EnqueueBatch(specs);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_NE(bad.status().message().find("jobs[9999]"), std::string::npos)
      << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("queue"), std::string::npos);
  EXPECT_EQ(KeyCount(), 0);
}

TEST_F(EnqueueScript, MalformedArgumentInScriptWritesNothing) {
  // Below the C++ validation: the script itself checks every job before its first write.
  redis::Script script("enqueue", std::string(queue::LuaSource("enqueue")));
  const auto& k = keys();
  std::vector<std::string> script_keys = {
      k.Pending("default", Priority::kHigh), k.Pending("default", Priority::kNormal),
      k.Pending("default", Priority::kLow),  k.Scheduled("default"),
      k.Marker("default"),                   k.Timer("default"),
      k.Jobs("default"),                     k.UniquePrefix("default"),
      k.Paused("default"),                   k.Leases("default"),
      k.IdleWorkers("default"),              k.InboxPrefix("default"),
      k.Seq("default"),                      k.Stale("default"),
      k.Buckets("default")};
  std::vector<std::string> args = {std::to_string(kStart), "10000", "1000", "0"};
  for (int i = 0; i < 10'000; ++i) {
    std::string priority = i == 9'999 ? "u" : "n";  // the last one is malformed
    for (const std::string& a : {NewJobId("default", kStart), priority, std::string("0"),
                                 std::string(""), std::string("0"), std::string("2|n|...")}) {
      args.push_back(a);
    }
  }
  auto r = conn_->Eval(script, script_keys, args);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("job 10000: bad priority"), std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(KeyCount(), 0);
}

TEST_F(EnqueueScript, InvalidFieldsAreNamed) {
  JobSpec spec;
  spec.name = "";
  auto r = broker_->Enqueue(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("name", 0), 0u) << r.status().ToString();
  spec.name = "ok";
  spec.max_retries = 101;
  r = broker_->Enqueue(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("max_retries", 0), 0u) << r.status().ToString();
  EXPECT_EQ(KeyCount(), 0);
}

}  // namespace
}  // namespace bananas::testing
