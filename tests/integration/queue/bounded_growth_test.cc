// Bounded growth (issue 13, item 7): the DLQ is trimmed by count (DLQ_MAX) and age (DLQ_TTL),
// oldest first, never touching a live job; errors are stored cut to a cap with a marker; a
// result over MAX_RESULT_BYTES fails its job with a clear error instead of being stored.
#include <string>
#include <vector>

#include "queue_fixture.h"

namespace bananas::testing {
namespace {

constexpr int64_t kHourMs = 3'600'000;

class TrimDeadScript : public QueueTest {
 protected:
  // A job that failed its only attempt: dead at the clock's "now". Then one ms passes, so
  // every death has its own time.
  std::string Kill(const std::string& queue = "default") {
    std::string id = Submit("doomed", Priority::kNormal, queue, 0);
    auto job = LeaseOne(queue);
    auto r = broker_->Fail(queue, {job.id, job.token, job.attempts, "fatal", true, false});
    EXPECT_TRUE(r.ok() && r->kind == queue::FailOutcome::Kind::kDead);
    clock_.Advance(1);
    return id;
  }

  std::vector<std::string> DeadIds(const std::string& queue = "default") {
    auto page = broker_->ListDead(queue, 0, 1000);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> ids;
    if (page.ok()) {
      for (const Job& j : page->jobs) ids.push_back(j.id);
    }
    return ids;  // newest first
  }

  bool Gone(const std::string& id) { return broker_->GetJob(id).status().IsNotFound(); }
};

TEST_F(TrimDeadScript, DlqOverMaxIsTrimmedOldestFirst) {
  options_.dlq_max = 3;
  ResetBroker();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Kill());

  auto r = broker_->TrimDead("default");
  ASSERT_OK(r);
  EXPECT_EQ(r->over_cap, 2);
  EXPECT_EQ(r->expired, 0);
  EXPECT_FALSE(r->more);
  EXPECT_EQ(DeadIds(), (std::vector<std::string>{ids[4], ids[3], ids[2]}));
  EXPECT_TRUE(Gone(ids[0]));  // the job itself is deleted, not only its DLQ entry
  EXPECT_TRUE(Gone(ids[1]));
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->dead, 3);

  // At the cap: nothing more to do.
  auto again = broker_->TrimDead("default");
  ASSERT_OK(again);
  EXPECT_EQ(again->trimmed(), 0);
}

TEST_F(TrimDeadScript, DeadJobOlderThanTtlIsRemoved) {
  options_.dlq_ttl_ms = kHourMs;
  ResetBroker();
  std::string old_one = Kill();
  clock_.Advance(kHourMs / 2);
  std::string young = Kill();
  clock_.Advance(kHourMs / 2 + 10);  // old_one: dead for over an hour; young: half an hour

  auto r = broker_->TrimDead("default");
  ASSERT_OK(r);
  EXPECT_EQ(r->expired, 1);
  EXPECT_EQ(r->over_cap, 0);
  EXPECT_TRUE(Gone(old_one));
  EXPECT_EQ(DeadIds(), std::vector<std::string>{young});
  auto kept = broker_->GetJob(young);
  ASSERT_OK(kept);
  EXPECT_EQ(kept->state, JobState::kFailed);
}

TEST_F(TrimDeadScript, ZeroMeansNoBound) {
  options_.dlq_max = 0;
  options_.dlq_ttl_ms = 0;
  ResetBroker();
  for (int i = 0; i < 3; ++i) Kill();
  clock_.Advance(1000LL * 24 * kHourMs);
  auto r = broker_->TrimDead("default");
  ASSERT_OK(r);
  EXPECT_EQ(r->trimmed(), 0);
  EXPECT_EQ(DeadIds().size(), 3u);
}

TEST_F(TrimDeadScript, EachCallIsBoundedByItsLimit) {
  options_.dlq_max = 1;
  ResetBroker();
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(Kill());
  auto first = broker_->TrimDead("default", 2);
  ASSERT_OK(first);
  EXPECT_EQ(first->trimmed(), 2);
  EXPECT_TRUE(first->more);
  EXPECT_TRUE(Gone(ids[0]));
  EXPECT_TRUE(Gone(ids[1]));
  EXPECT_FALSE(Gone(ids[2]));
  int64_t total = first->trimmed();
  for (int round = 0; round < 10; ++round) {
    auto r = broker_->TrimDead("default", 2);
    ASSERT_OK(r);
    total += r->trimmed();
    if (!r->more) break;
  }
  EXPECT_EQ(total, 5);
  EXPECT_EQ(DeadIds(), std::vector<std::string>{ids[5]});
}

TEST_F(TrimDeadScript, NeverDeletesALiveJob) {
  options_.dlq_max = 1;
  options_.dlq_ttl_ms = kHourMs;
  ResetBroker();
  std::string retried = Kill();
  std::string other = Kill();
  ASSERT_OK(broker_->RetryDead("default", {retried}));  // alive again: pending
  std::string pending = Submit();
  clock_.Advance(2 * kHourMs);  // everything in the DLQ has expired

  auto r = broker_->TrimDead("default");
  ASSERT_OK(r);
  EXPECT_EQ(r->trimmed(), 1);
  EXPECT_TRUE(Gone(other));
  for (const std::string& id : {retried, pending}) {
    auto job = broker_->GetJob(id);
    ASSERT_OK(job);
    EXPECT_EQ(job->state, JobState::kPending);
  }
  EXPECT_TRUE(DeadIds().empty());
}

TEST_F(TrimDeadScript, QueuesAreTrimmedSeparately) {
  options_.dlq_max = 1;
  ResetBroker();
  Kill("a");
  std::string a2 = Kill("a");
  std::string b1 = Kill("b");
  auto r = broker_->TrimDead("a");
  ASSERT_OK(r);
  EXPECT_EQ(r->trimmed(), 1);
  EXPECT_EQ(DeadIds("a"), std::vector<std::string>{a2});
  EXPECT_EQ(DeadIds("b"), std::vector<std::string>{b1});
}

class ErrorCap : public QueueTest {};

TEST_F(ErrorCap, HugeErrorIsStoredTruncatedWithMarker) {
  std::string id = Submit("noop", Priority::kNormal, "default", 0);
  auto job = LeaseOne();
  const std::string huge(100'000, 'x');
  auto r = broker_->Fail("default", {job.id, job.token, job.attempts, huge, true, false});
  ASSERT_OK(r);
  EXPECT_EQ(r->kind, queue::FailOutcome::Kind::kDead);

  auto stored = broker_->GetJob(id);
  ASSERT_OK(stored);
  const std::string expected = std::string(4096, 'x') + "… [truncated 95904 bytes]";
  EXPECT_EQ(stored->error.size(), expected.size());
  EXPECT_EQ(stored->error, expected);
  ASSERT_EQ(stored->errors.size(), 1u);
  EXPECT_EQ(stored->errors[0].message, expected);
}

TEST_F(ErrorCap, ErrorWithinTheCapIsKeptWhole) {
  std::string id = Submit("noop", Priority::kNormal, "default", 0);
  auto job = LeaseOne();
  const std::string exact(4096, 'y');
  ASSERT_OK(broker_->Fail("default", {job.id, job.token, job.attempts, exact, true, false}));
  auto stored = broker_->GetJob(id);
  ASSERT_OK(stored);
  EXPECT_EQ(stored->error, exact);
}

TEST_F(ErrorCap, TruncationNeverSplitsAUtf8Character) {
  // "é" is two bytes: a cut at an odd byte would leave half of one.
  std::string accents;
  for (int i = 0; i < 10; ++i) accents += "é";
  EXPECT_EQ(queue::TruncateError(accents, 5), "éé… [truncated 16 bytes]");
  EXPECT_EQ(queue::TruncateError(accents, 20), accents);
  EXPECT_EQ(queue::TruncateError(accents, 0), accents);  // no cap
}

class ResultCap : public QueueTest {};

TEST_F(ResultCap, ResultOverTheCapFailsTheJobWithAClearError) {
  std::string big_id = Submit();
  std::string small_id = Submit();
  auto leased = broker_->Dequeue({"default", 2, {}, {}});
  ASSERT_OK(leased);
  ASSERT_EQ(leased->size(), 2u);
  const std::string over((1 << 20) + 1, 'r');  // default MAX_RESULT_BYTES: 1 MiB
  std::vector<queue::Completion> completions;
  for (const auto& j : *leased) {
    completions.push_back({j.id, j.token, j.id == big_id ? over : std::string("fine")});
  }
  auto r = broker_->Ack("default", completions);
  ASSERT_OK(r);
  for (size_t i = 0; i < completions.size(); ++i) {
    EXPECT_EQ((*r)[i], completions[i].id == small_id) << completions[i].id;
  }

  auto big = broker_->GetJob(big_id);
  ASSERT_OK(big);
  EXPECT_EQ(big->state, JobState::kFailed);  // to the DLQ, not retried
  EXPECT_EQ(big->result, "");
  EXPECT_EQ(big->error, "result of 1048577 bytes exceeds MAX_RESULT_BYTES (1048576 bytes)");
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->dead, 1);
  EXPECT_EQ(counts->active, 0);

  auto small = broker_->GetJob(small_id);
  ASSERT_OK(small);
  EXPECT_EQ(small->state, JobState::kCompleted);
  EXPECT_EQ(small->result, "fine");
}

TEST_F(ResultCap, ResultAtTheCapIsStored) {
  options_.max_result_bytes = 100;
  ResetBroker();
  std::string id = Submit();
  auto job = LeaseOne();
  const std::string exact(100, 'r');
  auto r = broker_->Ack("default", {{id, job.token, exact}});
  ASSERT_OK(r);
  EXPECT_EQ(*r, std::vector<bool>{true});
  auto stored = broker_->GetJob(id);
  ASSERT_OK(stored);
  EXPECT_EQ(stored->state, JobState::kCompleted);
  EXPECT_EQ(stored->result, exact);
}

TEST_F(ResultCap, StaleTokenWithABigResultChangesNothing) {
  options_.max_result_bytes = 10;
  ResetBroker();
  std::string id = Submit();
  auto job = LeaseOne();
  auto r = broker_->Ack("default", {{id, job.token - 1, std::string(50, 'r')}});
  ASSERT_OK(r);
  EXPECT_EQ(*r, std::vector<bool>{false});
  auto stored = broker_->GetJob(id);
  ASSERT_OK(stored);
  EXPECT_EQ(stored->state, JobState::kActive);
}

}  // namespace
}  // namespace bananas::testing
