// An upgrade from key layout 1 as an operator meets it: the new binary's services refuse to
// run on the old data with one line naming the fix, `bananas migrate` moves it, and the jobs
// then run. Layout-1 data is written by layout 1's own scripts (tests/support/layout1.h).
#include <signal.h>

#include <string>

#include "base/clock.h"
#include "gtest/gtest.h"
#include "layout1.h"
#include "process.h"
#include "redis/connection.h"
#include "redis_server.h"
#include "test_util.h"

namespace bananas::testing {
namespace {

class Upgrade : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<RedisServer>> redis = RedisServer::Start();
    ASSERT_OK(redis);
    redis_ = std::move(*redis);
    auto options = redis::Options::FromUrl(redis_->url());
    ASSERT_OK(options);
    auto conn = redis::Connection::Open(*options);
    ASSERT_OK(conn);
    conn_ = std::move(*conn);
  }

  ProcessOptions Bananas(std::vector<std::string> args) {
    ProcessOptions options;
    options.args = {BANANAS_BIN};
    options.args.insert(options.args.end(), args.begin(), args.end());
    options.env = {{"REDIS_URL", redis_->url()}};
    return options;
  }

  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<redis::Connection> conn_;
};

TEST_F(Upgrade, ServicesRefuseLayoutOneUntilMigratedThenTheJobsRun) {
  Layout1 old(*conn_);
  const int64_t now = NowUnixMs();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    JobSpec spec;
    spec.name = "echo";
    spec.payload = "\"job " + std::to_string(i) + "\"";
    ids.push_back("01JEB0000000000000000000" + std::to_string(10 + i) + "-default");
    ASSERT_OK(old.Enqueue(ids.back(), spec, now));
  }

  // Every service refuses, naming the fix, and leaves the old data alone.
  for (const char* service : {"worker", "scheduler", "api"}) {
    std::unique_ptr<Process> p = RunToExit(Bananas({service}), std::chrono::seconds(30));
    auto code = p->WaitExit(std::chrono::seconds(1));
    ASSERT_TRUE(code.has_value()) << service << " did not stop\n" << p->Output();
    EXPECT_NE(*code, 0) << service;
    EXPECT_NE(p->Output().find("bananas migrate"), std::string::npos) << p->Output();
  }
  EXPECT_EQ(redis_->Cli({"LLEN", old.Key("default", "pending:normal")}), "3");

  std::unique_ptr<Process> migrate = RunToExit(Bananas({"migrate"}));
  ASSERT_EQ(migrate->WaitExit(), 0) << migrate->Output();

  auto worker = Process::Start(Bananas({"worker", "--concurrency", "2"}));
  ASSERT_OK(worker);
  for (const auto& id : ids) {
    bool completed = WaitFor(
        [&] {
          std::unique_ptr<Process> job = RunToExit(Bananas({"job", id, "--json"}));
          return job->out().find("completed") != std::string::npos;
        },
        std::chrono::seconds(30));
    EXPECT_TRUE(completed) << id << "\n" << (*worker)->Output();
  }
  (*worker)->Signal(SIGTERM);
  EXPECT_EQ((*worker)->WaitExit(), 0) << (*worker)->Output();
}

}  // namespace
}  // namespace bananas::testing
