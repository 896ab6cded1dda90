// The Worker against Redis error replies (LOADING, BUSY, OOM, READONLY, MASTERDOWN, TRYAGAIN,
// CLUSTERDOWN) injected by a FaultProxy between it and a real redis-server while it holds
// running jobs: its fetches, heartbeats and acks are refused for a while. Every job still
// completes exactly once, and the worker says what happened as a retryable condition in a
// rate-limited log line.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bananas/client.h"
#include "bananas/worker.h"
#include "fault_proxy.h"
#include "redis_server.h"
#include "test_util.h"

namespace bananas::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

class WorkerFaultTest : public ::testing::TestWithParam<RedisErrorReply> {
 protected:
  static RedisServer& Server() {
    static std::unique_ptr<RedisServer> server = [] {
      auto s = RedisServer::Start();
      if (!s) std::abort();
      return std::move(*s);
    }();
    return *server;
  }

  void SetUp() override {
    Server().Cli({"FLUSHALL"});
    auto proxy = FaultProxy::Start(Server().port());
    ASSERT_OK(proxy);
    proxy_ = std::move(*proxy);
    ClientOptions co;
    co.redis_url = Server().url();  // the test's own view of Redis: never through the proxy
    auto c = Client::Connect(co);
    ASSERT_OK(c);
    client_ = std::move(*c);
  }

  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<Client> client_;
};

TEST_P(WorkerFaultTest, WorkerRidesOutTheErrorNoJobLostNoneRunTwice) {
  const RedisErrorReply& error = GetParam();
  std::mutex mu;
  std::map<std::string, int> runs;
  std::atomic<int> started{0};
  std::atomic<bool> open{false};

  WorkerOptions options;
  options.redis_url = proxy_->url();
  options.concurrency = 4;
  // Heartbeats every 2 s, so one falls in the outage; the outage (~2.5 s) ends well inside
  // the lease, so the worker still owns its results when Redis serves again.
  options.lease_timeout = seconds(6);
  options.shutdown_grace = seconds(5);
  auto worker = Worker::Create(options);
  ASSERT_OK(worker);
  ASSERT_OK((*worker)->Register("gate", [&](JobContext& context) -> Result<std::string> {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++runs[context.id()];
    }
    ++started;
    while (!open.load() && !context.cancelled()) context.SleepFor(milliseconds(10));
    return std::string("done");
  }));
  ASSERT_OK((*worker)->Start());

  std::vector<JobSpec> specs(8);
  for (auto& spec : specs) spec.name = "gate";
  auto submitted = client_->SubmitBatch(specs);
  ASSERT_OK(submitted);
  ASSERT_TRUE(WaitFor([&] { return started.load() == 4; }));

  // Redis refuses everything while four jobs finish: their acks, the next fetches, the
  // heartbeat and the worker record all meet the error.
  ::testing::internal::CaptureStderr();
  const auto outage_start = SteadyClock::now();
  proxy_->InjectError({"", "", error.text, -1});
  open = true;
  EXPECT_TRUE(WaitFor([&] { return proxy_->injected() >= 5; }));
  std::this_thread::sleep_until(outage_start + milliseconds(2500));
  proxy_->ClearErrors();
  const auto outage = SteadyClock::now() - outage_start;

  for (const auto& job : *submitted) {
    auto done = client_->Wait(job.id, seconds(30));
    ASSERT_OK(done);
    EXPECT_EQ(done->state, JobState::kCompleted) << job.id;
    EXPECT_EQ(done->attempts, 1) << job.id;
  }
  (*worker)->Stop();
  (*worker)->Wait();
  const std::string log = ::testing::internal::GetCapturedStderr();

  EXPECT_GE(proxy_->injected(), 5);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(runs.size(), submitted->size());
    for (const auto& [id, count] : runs) EXPECT_EQ(count, 1) << id << " ran " << count << " times";
  }
  EXPECT_EQ((*worker)->stats().succeeded, static_cast<int64_t>(submitted->size()));
  EXPECT_EQ((*worker)->stats().lease_lost, 0);

  size_t lines = 0;
  bool named = false;
  for (size_t at = log.find("worker error"); at != std::string::npos;
       at = log.find("worker error", at + 1)) {
    ++lines;
    std::string line = log.substr(at, log.find('\n', at) - at);
    named |= line.find(error.name) != std::string::npos;
    EXPECT_EQ(line.find("Internal"), std::string::npos) << line;
  }
  EXPECT_TRUE(named) << log;
  const auto outage_seconds = std::chrono::duration_cast<seconds>(outage).count();
  EXPECT_LE(lines, static_cast<size_t>(outage_seconds + 5)) << log;
}

INSTANTIATE_TEST_SUITE_P(EveryClass, WorkerFaultTest, ::testing::ValuesIn(kRedisErrorReplies),
                         [](const ::testing::TestParamInfo<RedisErrorReply>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace bananas::testing
