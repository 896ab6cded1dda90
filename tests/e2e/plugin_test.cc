// The stock worker loading the example plug-in (WORKER_PLUGINS) and running its handler.
#include <signal.h>

#include <string>

#include "bananas/client.h"
#include "gtest/gtest.h"
#include "process.h"
#include "redis_server.h"
#include "test_util.h"

namespace bananas::testing {
namespace {

class Plugin : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<RedisServer>> redis = RedisServer::Start();
    ASSERT_OK(redis);
    redis_ = std::move(*redis);
  }

  std::unique_ptr<Process> StartWorker(const std::string& plugins) {
    ProcessOptions options;
    options.args = {BANANAS_BIN, "worker", "--pprof-port", "0"};
    options.env = {
        {"REDIS_URL", redis_->url()}, {"WORKER_PLUGINS", plugins}, {"WORKER_BUILTINS", "false"}};
    Result<std::unique_ptr<Process>> process = Process::Start(std::move(options));
    EXPECT_TRUE(process.ok()) << process.status().ToString();
    return process ? std::move(*process) : nullptr;
  }

  std::unique_ptr<RedisServer> redis_;
};

TEST_F(Plugin, WorkerRunsThePluginsHandler) {
  std::unique_ptr<Process> worker = StartWorker(BANANAS_PLUGIN);
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(worker->WaitForStdout("bananas worker: ready")) << worker->Output();
  EXPECT_NE(worker->out().find("handlers plugin.greet"), std::string::npos) << worker->Output();

  ClientOptions client_options;
  client_options.redis_url = redis_->url();
  Result<std::unique_ptr<Client>> client = Client::Connect(client_options);
  ASSERT_OK(client);
  JobSpec spec;
  spec.name = "plugin.greet";
  spec.payload = "world";
  Result<Submitted> submitted = (*client)->Submit(spec);
  ASSERT_OK(submitted);
  Result<Job> job = (*client)->Wait(submitted->id, std::chrono::seconds(30));
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kCompleted) << job->error;
  EXPECT_EQ(job->result, "hello from a plug-in, world");

  worker->Signal(SIGTERM);
  EXPECT_EQ(worker->WaitExit(), 0) << worker->Output();
}

TEST_F(Plugin, MissingPluginFileExitsTwoNamingTheVariable) {
  std::unique_ptr<Process> worker = StartWorker("/nonexistent/libnothing.so");
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->WaitExit(), 2) << worker->Output();
  EXPECT_NE(worker->err().find("WORKER_PLUGINS"), std::string::npos) << worker->Output();
  EXPECT_NE(worker->err().find("/nonexistent/libnothing.so"), std::string::npos)
      << worker->Output();
}

}  // namespace
}  // namespace bananas::testing
