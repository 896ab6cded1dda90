// Clock skew between hosts (issue 13, item 6): lease deadlines are written with the worker's
// clock and compared with the scheduler's. Here the scheduler's clock runs 20 s ahead and the
// worker's 20 s behind, with a 3 s lease: unless every service follows Redis' clock, the
// scheduler sees each lease 37 s past its deadline and recovers a job that is running fine,
// so it runs again (and again, until it dies a poison pill).
//
// The shift is BANANAS_TEST_CLOCK_OFFSET (base/clock.h), not libfaketime: libfaketime hangs a
// binary linked with jemalloc (its initialisation and jemalloc's call each other; libfaketime
// issue #130), which the release build is.
#include <signal.h>

#include <string>

#include "bananas/client.h"
#include "gtest/gtest.h"
#include "process.h"
#include "redis_server.h"
#include "test_util.h"

namespace bananas::testing {
namespace {

// `bananas <args>` whose clock is off by `shift` ("+20s", "-20s").
std::unique_ptr<Process> RunShifted(const std::string& shift, std::vector<std::string> args,
                                    std::map<std::string, std::optional<std::string>> env) {
  ProcessOptions options;
  options.args = {BANANAS_BIN};
  options.args.insert(options.args.end(), args.begin(), args.end());
  options.env = std::move(env);
  options.env["BANANAS_TEST_CLOCK_OFFSET"] = shift;
  Result<std::unique_ptr<Process>> process = Process::Start(std::move(options));
  EXPECT_TRUE(process.ok()) << process.status().ToString();
  return process ? std::move(*process) : nullptr;
}

class ClockSkew : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<RedisServer>> redis = RedisServer::Start();
    ASSERT_OK(redis);
    redis_ = std::move(*redis);
  }

  std::unique_ptr<RedisServer> redis_;
};

TEST_F(ClockSkew, LongJobRunsOnceWhenWorkerAndSchedulerClocksDifferBy40s) {
  std::map<std::string, std::optional<std::string>> env = {{"REDIS_URL", redis_->url()},
                                                           {"LEASE_TIMEOUT", "3s"}};
  std::unique_ptr<Process> scheduler = RunShifted("+20s", {"scheduler", "--pprof-port", "0"}, env);
  std::unique_ptr<Process> worker = RunShifted("-20s", {"worker", "--pprof-port", "0"}, env);
  ASSERT_NE(scheduler, nullptr);
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(scheduler->WaitForStdout("bananas scheduler: ready")) << scheduler->Output();
  ASSERT_TRUE(worker->WaitForStdout("bananas worker: ready")) << worker->Output();

  ClientOptions client_options;
  client_options.redis_url = redis_->url();
  Result<std::unique_ptr<Client>> client = Client::Connect(client_options);
  ASSERT_OK(client);
  JobSpec spec;
  spec.name = "sleep";
  spec.payload = R"({"ms": 8000})";  // several lease lengths: only heartbeats keep it
  Result<Submitted> submitted = (*client)->Submit(spec);
  ASSERT_OK(submitted);
  // Skewed, the job is recovered again and again and dies a poison pill within seconds; in
  // sync it completes after 8 s.
  Result<Job> job = (*client)->Wait(submitted->id, std::chrono::seconds(90));
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kCompleted) << job->error;
  EXPECT_EQ(job->attempts, 1);
  EXPECT_EQ(job->recoveries, 0);

  worker->Signal(SIGTERM);
  scheduler->Signal(SIGTERM);
  EXPECT_EQ(worker->WaitExit(), 0) << worker->Output();
  EXPECT_EQ(scheduler->WaitExit(), 0) << scheduler->Output();
  // Each says what it found and that it corrected it.
  for (Process* p : {worker.get(), scheduler.get()}) {
    EXPECT_NE(p->err().find("clock skew"), std::string::npos) << p->Output();
    EXPECT_NE(p->err().find("corrected"), std::string::npos) << p->Output();
  }
}

}  // namespace
}  // namespace bananas::testing
