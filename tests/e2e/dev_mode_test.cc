// `bananas dev` end to end: its own redis-server, a job through the builtin worker, and the
// redis-server child gone after every way the parent can end.
#include <signal.h>

#include <filesystem>
#include <string>

#include "bananas/client.h"
#include "gtest/gtest.h"
#include "process.h"
#include "test_util.h"

namespace bananas::testing {
namespace {

class DevMode : public ::testing::Test {
 protected:
  // `bananas dev` with REDIS_URL unset and its data in a fresh directory; API and pprof on
  // any free port so that tests can run in parallel.
  std::unique_ptr<Process> StartDev(std::vector<std::string> extra_args = {},
                                    std::map<std::string, std::optional<std::string>> env = {}) {
    ProcessOptions options;
    options.args = {BANANAS_BIN,  "dev", "--data-dir",   data_dir(),
                    "--api-port", "0",   "--pprof-port", "0"};
    options.args.insert(options.args.end(), extra_args.begin(), extra_args.end());
    options.env = std::move(env);
    options.env["REDIS_URL"] = std::nullopt;
    Result<std::unique_ptr<Process>> process = Process::Start(std::move(options));
    EXPECT_TRUE(process.ok()) << process.status().ToString();
    return process ? std::move(*process) : nullptr;
  }

  std::string data_dir() const { return temp_.path() + "/dev-redis"; }

  // The port of a "redis://127.0.0.1:<port>/0" URL.
  static int PortOf(const std::string& url) {
    constexpr std::string_view kHost = "redis://127.0.0.1:";
    if (!url.starts_with(kHost)) return 0;
    return std::atoi(url.substr(kHost.size()).c_str());
  }

  TempDir temp_;
};

TEST_F(DevMode, RunsEchoJobOnOwnRedisAndStopsItOnSigterm) {
  std::unique_ptr<Process> dev = StartDev();
  ASSERT_NE(dev, nullptr);
  ASSERT_TRUE(dev->WaitForStdout("bananas dev: ready")) << dev->Output();
  const std::string url = Field(dev->out(), "redis: ");
  const int port = PortOf(url);
  ASSERT_GT(port, 0) << dev->Output();
  EXPECT_NE(dev->out().find("(own redis-server, data in " + data_dir() + ")"), std::string::npos)
      << dev->Output();
  EXPECT_NE(dev->out().find("API: "), std::string::npos) << dev->Output();
  EXPECT_NE(dev->out().find("pprof: "), std::string::npos) << dev->Output();

  ClientOptions client_options;
  client_options.redis_url = url;
  Result<std::unique_ptr<Client>> client = Client::Connect(client_options);
  ASSERT_OK(client);
  JobSpec spec;
  spec.name = "echo";
  spec.payload = R"({"hi":1})";
  Result<Submitted> submitted = (*client)->Submit(spec);
  ASSERT_OK(submitted);
  Result<Job> job = (*client)->Wait(submitted->id, std::chrono::seconds(30));
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kCompleted) << job->error;
  EXPECT_EQ(job->result, R"({"hi":1})");

  dev->Signal(SIGTERM);
  EXPECT_EQ(dev->WaitExit(), 0) << dev->Output();
  // The parent reaps its redis-server before it exits: the port is closed by now.
  EXPECT_TRUE(PortRefuses(port));
  EXPECT_TRUE(std::filesystem::exists(data_dir() + "/redis.log"));
  EXPECT_TRUE(std::filesystem::exists(data_dir() + "/appendonlydir"));
}

TEST_F(DevMode, SigintStopsLikeSigterm) {
  std::unique_ptr<Process> dev = StartDev();
  ASSERT_NE(dev, nullptr);
  ASSERT_TRUE(dev->WaitForStdout("bananas dev: ready")) << dev->Output();
  const int port = PortOf(Field(dev->out(), "redis: "));
  dev->Signal(SIGINT);
  EXPECT_EQ(dev->WaitExit(), 0) << dev->Output();
  EXPECT_TRUE(PortRefuses(port));
}

TEST_F(DevMode, RedisChildDiesWithSigkilledParent) {
  std::unique_ptr<Process> dev = StartDev();
  ASSERT_NE(dev, nullptr);
  ASSERT_TRUE(dev->WaitForStdout("bananas dev: ready")) << dev->Output();
  const int port = PortOf(Field(dev->out(), "redis: "));
  ASSERT_GT(port, 0);
  ASSERT_FALSE(PortRefuses(port));
  dev->Signal(SIGKILL);
  EXPECT_EQ(dev->WaitExit(), 128 + SIGKILL);
  // PR_SET_PDEATHSIG: the kernel sends the orphan SIGTERM; redis then shuts down on its own.
  EXPECT_TRUE(WaitFor([&] { return PortRefuses(port); })) << "redis-server outlived its parent";
}

TEST_F(DevMode, JobsSurviveARestartOnTheSameDataDir) {
  // Only noop runs, so a "later" job stays pending across the restart.
  std::string id;
  {
    std::unique_ptr<Process> dev = StartDev({"--job-types", "noop"});
    ASSERT_NE(dev, nullptr);
    ASSERT_TRUE(dev->WaitForStdout("bananas dev: ready")) << dev->Output();
    ClientOptions client_options;
    client_options.redis_url = Field(dev->out(), "redis: ");
    Result<std::unique_ptr<Client>> client = Client::Connect(client_options);
    ASSERT_OK(client);
    JobSpec spec;
    spec.name = "later";
    Result<Submitted> submitted = (*client)->Submit(spec);
    ASSERT_OK(submitted);
    id = submitted->id;
    dev->Signal(SIGTERM);
    ASSERT_EQ(dev->WaitExit(), 0) << dev->Output();
  }
  std::unique_ptr<Process> dev = StartDev({"--job-types", "noop"});
  ASSERT_NE(dev, nullptr);
  ASSERT_TRUE(dev->WaitForStdout("bananas dev: ready")) << dev->Output();
  ClientOptions client_options;
  client_options.redis_url = Field(dev->out(), "redis: ");
  Result<std::unique_ptr<Client>> client = Client::Connect(client_options);
  ASSERT_OK(client);
  Result<Job> job = (*client)->Get(id);
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kPending);
  EXPECT_EQ(job->name, "later");
  dev->Signal(SIGTERM);
  EXPECT_EQ(dev->WaitExit(), 0) << dev->Output();
}

TEST_F(DevMode, MissingRedisServerIsAClearError) {
  std::unique_ptr<Process> dev = StartDev({}, {{"PATH", "/nonexistent"}});
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ(dev->WaitExit(), 1) << dev->Output();
  EXPECT_NE(dev->err().find("redis-server is not on PATH"), std::string::npos) << dev->Output();
  EXPECT_NE(dev->err().find("scripts/setup"), std::string::npos) << dev->Output();
  EXPECT_NE(dev->err().find("REDIS_URL"), std::string::npos) << dev->Output();
}

}  // namespace
}  // namespace bananas::testing
