// The `bananas` command line end to end: exit codes, error lines, --help, secrets kept out of
// the output, and the worker and scheduler subcommands running jobs together.
#include <signal.h>

#include <string>

#include "bananas/client.h"
#include "gtest/gtest.h"
#include "process.h"
#include "redis_server.h"
#include "test_util.h"

namespace bananas::testing {
namespace {

constexpr int kExitUsage = 2;

std::unique_ptr<Process> RunBananas(std::vector<std::string> args,
                                    std::map<std::string, std::optional<std::string>> env = {}) {
  ProcessOptions options;
  options.args = {BANANAS_BIN};
  options.args.insert(options.args.end(), args.begin(), args.end());
  options.env = std::move(env);
  Result<std::unique_ptr<Process>> process = Process::Start(std::move(options));
  EXPECT_TRUE(process.ok()) << process.status().ToString();
  return process ? std::move(*process) : nullptr;
}

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(Cli, InvalidEnvironmentValueExitsTwoNamingTheVariable) {
  std::unique_ptr<Process> worker = RunBananas({"worker"}, {{"WORKER_CONCURRENCY", "abc"}});
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->WaitExit(), kExitUsage) << worker->Output();
  EXPECT_EQ(worker->err(),
            "bananas worker: WORKER_CONCURRENCY: invalid value \"abc\" (expected an integer "
            "1..10000)\n");
  EXPECT_EQ(worker->out(), "");
}

TEST(Cli, InvalidFlagValueExitsTwoNamingVariableAndFlag) {
  std::unique_ptr<Process> worker = RunBananas({"worker", "--job-timeout", "soon"});
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->WaitExit(), kExitUsage) << worker->Output();
  EXPECT_NE(worker->err().find("JOB_TIMEOUT (--job-timeout): invalid value \"soon\""),
            std::string::npos)
      << worker->Output();
}

TEST(Cli, UsageErrorsExitTwo) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{}, std::vector<std::string>{"nosuchcommand"},
        std::vector<std::string>{"worker", "--bogus"},
        std::vector<std::string>{"scheduler", "--concurrency", "3"},
        std::vector<std::string>{"worker", "--concurrency"}}) {
    std::unique_ptr<Process> process = RunBananas(args);
    ASSERT_NE(process, nullptr);
    EXPECT_EQ(process->WaitExit(), kExitUsage) << process->Output();
    EXPECT_FALSE(process->err().empty());
  }
}

TEST(Cli, HelpOnEverySubcommandListsFlagsAndVariables) {
  for (const char* command : {"worker", "scheduler", "dev"}) {
    std::unique_ptr<Process> process = RunBananas({command, "--help"});
    ASSERT_NE(process, nullptr);
    EXPECT_EQ(process->WaitExit(), 0) << process->Output();
    EXPECT_NE(process->out().find("--redis-url"), std::string::npos) << process->Output();
    EXPECT_NE(process->out().find("[REDIS_URL]"), std::string::npos) << process->Output();
    EXPECT_NE(process->out().find("--lease-timeout"), std::string::npos) << process->Output();
  }
  std::unique_ptr<Process> top = RunBananas({"--help"});
  ASSERT_NE(top, nullptr);
  EXPECT_EQ(top->WaitExit(), 0);
  for (const char* command : {"worker", "scheduler", "dev"}) {
    EXPECT_NE(top->out().find(command), std::string::npos) << top->Output();
  }
}

TEST(Cli, BadRedisUrlExitsTwoWithoutShowingItsPassword) {
  std::unique_ptr<Process> worker =
      RunBananas({"worker"}, {{"REDIS_URL", "redis://:Sup3rSecretPw@127.0.0.1:notaport/0"}});
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->WaitExit(), kExitUsage) << worker->Output();
  EXPECT_NE(worker->err().find("REDIS_URL"), std::string::npos) << worker->Output();
  EXPECT_EQ(worker->Output().find("Sup3rSecretPw"), std::string::npos) << worker->Output();
}

class CliWithRedis : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<RedisServer>> redis = RedisServer::Start(options_);
    ASSERT_OK(redis);
    redis_ = std::move(*redis);
  }

  RedisServerOptions options_;
  std::unique_ptr<RedisServer> redis_;
};

class CliWithPassword : public CliWithRedis {
 protected:
  static constexpr const char* kPassword = "Sup3rSecretPw";
  CliWithPassword() { options_.extra_args = {"--requirepass", kPassword}; }

  std::string UrlWithPassword() const {
    return "redis://:" + std::string(kPassword) + "@127.0.0.1:" + std::to_string(redis_->port()) +
           "/0";
  }
};

TEST_F(CliWithPassword, WorkerNeverPrintsThePassword) {
  std::unique_ptr<Process> worker =
      RunBananas({"worker", "--pprof-port", "0"}, {{"REDIS_URL", UrlWithPassword()}});
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(worker->WaitForStdout("bananas worker: ready")) << worker->Output();
  // A job proves the password reached Redis, and gives the worker something to log.
  ClientOptions client_options;
  client_options.redis_url = UrlWithPassword();
  Result<std::unique_ptr<Client>> client = Client::Connect(client_options);
  ASSERT_OK(client);
  JobSpec spec;
  spec.name = "noop";
  Result<Submitted> submitted = (*client)->Submit(spec);
  ASSERT_OK(submitted);
  Result<Job> job = (*client)->Wait(submitted->id, std::chrono::seconds(30));
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kCompleted);

  worker->Signal(SIGTERM);
  EXPECT_EQ(worker->WaitExit(), 0) << worker->Output();
  EXPECT_EQ(worker->Output().find(kPassword), std::string::npos) << worker->Output();
  EXPECT_NE(worker->out().find("redis://:***@127.0.0.1:"), std::string::npos) << worker->Output();
}

TEST_F(CliWithPassword, SchedulerAndDevNeverPrintThePassword) {
  for (const char* command : {"scheduler", "dev"}) {
    std::vector<std::string> args = {command, "--pprof-port", "0"};
    // dev serves the API too: any free port, so that parallel tests never collide.
    if (std::string_view(command) == "dev") args.insert(args.end(), {"--api-port", "0"});
    std::unique_ptr<Process> process = RunBananas(args, {{"REDIS_URL", UrlWithPassword()}});
    ASSERT_NE(process, nullptr);
    ASSERT_TRUE(process->WaitForStdout("ready")) << process->Output();
    process->Signal(SIGTERM);
    EXPECT_EQ(process->WaitExit(), 0) << process->Output();
    EXPECT_EQ(process->Output().find(kPassword), std::string::npos) << process->Output();
    EXPECT_NE(process->out().find("redis://:***@"), std::string::npos) << process->Output();
  }
}

TEST_F(CliWithRedis, WorkerAndSchedulerRunADelayedJob) {
  std::map<std::string, std::optional<std::string>> env = {{"REDIS_URL", redis_->url()}};
  std::unique_ptr<Process> scheduler = RunBananas({"scheduler", "--pprof-port", "0"}, env);
  std::unique_ptr<Process> worker = RunBananas({"worker", "--pprof-port", "0"}, env);
  ASSERT_NE(scheduler, nullptr);
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(scheduler->WaitForStdout("bananas scheduler: ready")) << scheduler->Output();
  ASSERT_TRUE(worker->WaitForStdout("bananas worker: ready")) << worker->Output();

  ClientOptions client_options;
  client_options.redis_url = redis_->url();
  Result<std::unique_ptr<Client>> client = Client::Connect(client_options);
  ASSERT_OK(client);
  JobSpec spec;
  spec.name = "echo";
  spec.payload = "later";
  spec.run_at_unix_ms = NowUnixMs() + 300;  // scheduled: only the scheduler makes it pending
  Result<Submitted> submitted = (*client)->Submit(spec);
  ASSERT_OK(submitted);
  Result<Job> job = (*client)->Wait(submitted->id, std::chrono::seconds(30));
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kCompleted) << job->error;
  EXPECT_EQ(job->result, "later");

  worker->Signal(SIGTERM);
  scheduler->Signal(SIGTERM);
  EXPECT_EQ(worker->WaitExit(), 0) << worker->Output();
  EXPECT_EQ(scheduler->WaitExit(), 0) << scheduler->Output();
  EXPECT_NE(worker->out().find("bananas worker: stopped (1 succeeded"), std::string::npos)
      << worker->Output();
}

TEST_F(CliWithRedis, SecondSignalExitsAtOnceWithCodeOne) {
  // A long grace and a job that uses it: the first SIGTERM starts a shutdown that would last
  // a minute, the second cuts it short.
  std::unique_ptr<Process> worker = RunBananas(
      {"worker", "--pprof-port", "0", "--shutdown-grace", "60s"}, {{"REDIS_URL", redis_->url()}});
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(worker->WaitForStdout("bananas worker: ready")) << worker->Output();
  ClientOptions client_options;
  client_options.redis_url = redis_->url();
  Result<std::unique_ptr<Client>> client = Client::Connect(client_options);
  ASSERT_OK(client);
  JobSpec spec;
  spec.name = "sleep";
  spec.payload = R"({"ms": 120000})";
  Result<Submitted> submitted = (*client)->Submit(spec);
  ASSERT_OK(submitted);
  ASSERT_TRUE(WaitFor([&] {
    Result<Job> job = (*client)->Get(submitted->id);
    return job.ok() && job->state == JobState::kActive;
  }));

  worker->Signal(SIGTERM);
  ASSERT_TRUE(worker->WaitForStdout("stopping")) << worker->Output();
  worker->Signal(SIGTERM);
  EXPECT_EQ(worker->WaitExit(std::chrono::seconds(20)), 1) << worker->Output();
  EXPECT_NE(worker->err().find("exiting now"), std::string::npos) << worker->Output();
}

TEST_F(CliWithRedis, SigtermHandsARunningJobBackAfterTheGrace) {
  std::unique_ptr<Process> worker = RunBananas(
      {"worker", "--pprof-port", "0", "--shutdown-grace", "200ms"}, {{"REDIS_URL", redis_->url()}});
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(worker->WaitForStdout("bananas worker: ready")) << worker->Output();
  ClientOptions client_options;
  client_options.redis_url = redis_->url();
  Result<std::unique_ptr<Client>> client = Client::Connect(client_options);
  ASSERT_OK(client);
  JobSpec spec;
  spec.name = "sleep";
  spec.payload = R"({"ms": 120000})";
  Result<Submitted> submitted = (*client)->Submit(spec);
  ASSERT_OK(submitted);
  ASSERT_TRUE(WaitFor([&] {
    Result<Job> job = (*client)->Get(submitted->id);
    return job.ok() && job->state == JobState::kActive;
  }));

  worker->Signal(SIGTERM);
  EXPECT_EQ(worker->WaitExit(), 0) << worker->Output();
  EXPECT_NE(worker->out().find("1 handed back"), std::string::npos) << worker->Output();
  Result<Job> job = (*client)->Get(submitted->id);
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kPending);
}

TEST_F(CliWithRedis, UnknownJobTypeForTheWorkerExitsTwo) {
  std::unique_ptr<Process> worker =
      RunBananas({"worker", "--job-types", "echo,nosuch"}, {{"REDIS_URL", redis_->url()}});
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->WaitExit(), kExitUsage) << worker->Output();
  EXPECT_NE(worker->err().find("WORKER_JOB_TYPES"), std::string::npos) << worker->Output();
}

}  // namespace
}  // namespace bananas::testing
