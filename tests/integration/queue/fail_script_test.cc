#include <string>
#include <vector>

#include "queue/retry_policy.h"
#include "queue_fixture.h"

namespace bananas::testing {
namespace {

class FailScript : public QueueTest {};

queue::Failure FailureOf(const queue::LeasedJob& job, std::string error) {
  return {job.id, job.token, job.attempts, std::move(error), true, false};
}

TEST_F(FailScript, StaleTokenCannotFail) {
  std::string id = Submit();
  auto job = LeaseOne();
  auto bad = FailureOf(job, "boom");
  bad.token = job.token + 1;
  auto r = broker_->Fail("default", bad);
  ASSERT_OK(r);
  EXPECT_EQ(r->kind, queue::FailOutcome::Kind::kLeaseLost);
  auto stored = broker_->GetJob(id);
  ASSERT_OK(stored);
  EXPECT_EQ(stored->state, JobState::kActive);
  EXPECT_EQ(stored->error, "");
  EXPECT_TRUE(stored->errors.empty());
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->retrying, 0);
  EXPECT_EQ(counts->dead, 0);
  EXPECT_EQ(LeasedIds(), std::vector<std::string>{id});
}

TEST_F(FailScript, FailureSchedulesRetryWithBackoff) {
  std::string id = Submit();
  auto job = LeaseOne();
  auto r = broker_->Fail("default", FailureOf(job, "boom"));
  ASSERT_OK(r);
  ASSERT_EQ(r->kind, queue::FailOutcome::Kind::kRetrying);
  // Attempt 1 failed: the delay is the base, less up to 25% jitter.
  EXPECT_GE(r->retry_at_unix_ms, kStart + 750);
  EXPECT_LE(r->retry_at_unix_ms, kStart + 1000);
  auto stored = broker_->GetJob(id);
  ASSERT_OK(stored);
  EXPECT_EQ(stored->state, JobState::kRetrying);
  EXPECT_EQ(stored->run_at_unix_ms, r->retry_at_unix_ms);
  EXPECT_EQ(stored->error, "boom");
  EXPECT_EQ(stored->attempts, 1);
  EXPECT_TRUE(LeasedIds().empty());
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->retrying, 1);
  EXPECT_EQ(counts->active, 0);
  EXPECT_EQ(Cmd({"LLEN", keys().Timer("default")}).integer, 1);  // the scheduler is woken
}

TEST_F(FailScript, RetryDelaysGrowAndAreCapped) {
  options_.max_recoveries = 100;
  options_.retry.base = std::chrono::milliseconds(100);
  options_.retry.cap = std::chrono::milliseconds(1600);
  options_.retry.jitter = 0.0;  // exact delays; jitter is tested below
  ResetBroker();
  std::string id = Submit("j", Priority::kNormal, "default", 10);
  std::vector<int64_t> delays;
  for (int attempt = 1; attempt <= 8; ++attempt) {
    auto job = LeaseOne();
    ASSERT_EQ(job.attempts, attempt);
    auto r = broker_->Fail("default", FailureOf(job, "e" + std::to_string(attempt)));
    ASSERT_OK(r);
    ASSERT_EQ(r->kind, queue::FailOutcome::Kind::kRetrying);
    delays.push_back(r->retry_at_unix_ms - clock_.NowMs());
    clock_.Set(r->retry_at_unix_ms);
    auto p = broker_->PromoteDue("default");
    ASSERT_OK(p);
    ASSERT_EQ(p->moved, 1);
  }
  EXPECT_EQ(delays, (std::vector<int64_t>{100, 200, 400, 800, 1600, 1600, 1600, 1600}));

  // Jitter only ever shortens a delay, by at most the configured fraction.
  queue::RetryPolicy policy;
  for (double u : {0.0, 0.3, 0.999}) {
    auto d = policy.DelayAfter(3, u).count();
    EXPECT_LE(d, 4000);
    EXPECT_GE(d, 3000);
  }
  EXPECT_EQ(policy.DelayAfter(1000, 0.0), policy.cap);  // no overflow
}

TEST_F(FailScript, AfterMaxRetriesJobIsDeadWithErrors) {
  std::string id = Submit("j", Priority::kNormal, "default", 2);
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto job = LeaseOne();
    ASSERT_EQ(job.attempts, attempt);
    auto r = broker_->Fail("default", FailureOf(job, "error " + std::to_string(attempt)));
    ASSERT_OK(r);
    if (attempt < 3) {
      ASSERT_EQ(r->kind, queue::FailOutcome::Kind::kRetrying);
      clock_.Set(r->retry_at_unix_ms);
      ASSERT_OK(broker_->PromoteDue("default"));
    } else {
      ASSERT_EQ(r->kind, queue::FailOutcome::Kind::kDead);
    }
  }
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->dead, 1);
  EXPECT_EQ(counts->retrying, 0);
  EXPECT_EQ(counts->active, 0);
  EXPECT_TRUE(LeasedIds().empty());
  auto job = broker_->GetJob(id);
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kFailed);
  EXPECT_EQ(job->attempts, 3);
  EXPECT_EQ(job->error, "error 3");
  ASSERT_EQ(job->errors.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(job->errors[i].attempt, i + 1);
    EXPECT_EQ(job->errors[i].message, "error " + std::to_string(i + 1));
    EXPECT_GE(job->errors[i].at_unix_ms, kStart);
  }
  auto page = broker_->ListDead("default", 0, 10);
  ASSERT_OK(page);
  EXPECT_EQ(page->total, 1);
  ASSERT_EQ(page->jobs.size(), 1u);
  EXPECT_EQ(page->jobs[0].id, id);
}

TEST_F(FailScript, NonRetryableErrorGoesStraightToDlq) {
  std::string id = Submit();
  auto job = LeaseOne();
  auto f = FailureOf(job, "bad input");
  f.retryable = false;
  auto r = broker_->Fail("default", f);
  ASSERT_OK(r);
  EXPECT_EQ(r->kind, queue::FailOutcome::Kind::kDead);
  auto page = broker_->ListDead("default", 0, 10);
  ASSERT_OK(page);
  ASSERT_EQ(page->jobs.size(), 1u);
  EXPECT_EQ(page->jobs[0].id, id);
  EXPECT_EQ(page->jobs[0].state, JobState::kFailed);
  EXPECT_EQ(page->jobs[0].error, "bad input");
  EXPECT_EQ(page->jobs[0].attempts, 1);
}

TEST_F(FailScript, ErrorHistoryIsCapped) {
  options_.error_history = 3;
  options_.retry.base = std::chrono::milliseconds(1);
  ResetBroker();
  std::string id = Submit("j", Priority::kNormal, "default", 10);
  for (int attempt = 1; attempt <= 6; ++attempt) {
    auto job = LeaseOne();
    auto r = broker_->Fail("default", FailureOf(job, "e" + std::to_string(attempt)));
    ASSERT_OK(r);
    clock_.Set(r->retry_at_unix_ms);
    ASSERT_OK(broker_->PromoteDue("default"));
  }
  auto job = broker_->GetJob(id);
  ASSERT_OK(job);
  ASSERT_EQ(job->errors.size(), 3u);
  EXPECT_EQ(job->errors.front().message, "e4");
  EXPECT_EQ(job->errors.back().message, "e6");
}

}  // namespace
}  // namespace bananas::testing
