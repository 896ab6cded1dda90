// Chaos: 5,000 jobs, two `bananas worker` processes, one of them killed with SIGKILL and
// restarted at least three times during the run, one `bananas scheduler` recovering the
// leases the dead worker held. Every job must complete; none may be lost. Duplicate
// executions (a job leased again after its worker died mid-run) are counted and reported:
// each lease increments the job's `attempts`, so duplicates = sum(attempts) - jobs.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "bananas/client.h"
#include "process.h"  // tests/e2e
#include "redis_server.h"
#include "test_util.h"

namespace bananas::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kJobs = 5000;
constexpr int kKills = 3;

int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class ChaosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RedisServerOptions o;
    o.appendonly = true;
    auto s = RedisServer::Start(o);
    ASSERT_OK(s);
    server_ = std::move(*s);
    ClientOptions co;
    co.redis_url = server_->url();
    auto c = Client::Connect(co);
    ASSERT_OK(c);
    client_ = std::move(*c);
  }

  std::map<std::string, std::optional<std::string>> Env() const {
    return {{"REDIS_URL", server_->url()},
            {"WORKER_CONCURRENCY", "8"},
            {"LEASE_TIMEOUT", "1s"},
            {"SHUTDOWN_GRACE", "2s"},
            {"PPROF_PORT", "0"}};
  }

  std::unique_ptr<Process> Spawn(const std::string& command) {
    auto p = Process::Start({{BANANAS_BIN, command}, Env()});
    EXPECT_OK(p);
    return p.ok() ? std::move(*p) : nullptr;
  }

  int64_t Completed() {
    // Counting completed jobs by scanning would be slow; the pending/active/retry counts are
    // cheap, and a job not in any of them and not dead is completed.
    int64_t left = 0;
    for (const char* p : {"high", "normal", "low"}) {
      left += std::stoll(server_->Cli({"LLEN", std::string("bananas:{default}:pending:") + p}));
    }
    for (const char* z : {"leases", "retry", "scheduled", "dead"}) {
      left += std::stoll(server_->Cli({"ZCARD", std::string("bananas:{default}:") + z}));
    }
    return kJobs - left;
  }

  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(ChaosTest, KilledWorkersLoseNoJob) {
  auto scheduler = Spawn("scheduler");
  auto steady = Spawn("worker");
  auto victim = Spawn("worker");
  ASSERT_TRUE(scheduler && steady && victim);

  std::vector<JobSpec> specs(kJobs);
  for (auto& s : specs) {
    s.name = "sleep";
    s.payload = R"({"ms":15})";
    s.max_retries = 10;
  }
  auto submitted = client_->SubmitBatch(specs);
  ASSERT_OK(submitted);
  ASSERT_EQ(submitted->size(), static_cast<size_t>(kJobs));

  int kills = 0;
  int64_t completed_at_kill = -1;
  while (kills < kKills) {
    // Kill only once the victim has made progress since its last start, so every kill hits
    // a worker holding leases.
    ASSERT_TRUE(WaitFor([&] { return Completed() > completed_at_kill + kJobs / 10; },
                        seconds(60)))
        << "no progress\n" << victim->Output() << steady->Output();
    ASSERT_LT(Completed(), kJobs) << "finished before " << kKills << " kills: make jobs longer";
    victim->Signal(SIGKILL);
    victim->WaitExit(seconds(10));
    ++kills;
    completed_at_kill = Completed();
    victim = Spawn("worker");
    ASSERT_TRUE(victim);
  }

  ASSERT_TRUE(WaitFor([&] { return Completed() == kJobs; }, seconds(120)))
      << Completed() << " of " << kJobs << " completed\n" << scheduler->Output();

  int64_t attempts = 0;
  int64_t not_completed = 0;
  for (const auto& s : *submitted) {
    auto job = client_->Get(s.id);
    ASSERT_OK(job);
    if (job->state != JobState::kCompleted) ++not_completed;
    attempts += job->attempts;
  }
  EXPECT_EQ(not_completed, 0);
  int64_t duplicates = attempts - kJobs;
  std::printf("chaos: %d jobs, %d SIGKILLs, all completed, %lld duplicate executions\n", kJobs,
              kills, static_cast<long long>(duplicates));
  RecordProperty("duplicate_executions", static_cast<int>(duplicates));
  EXPECT_GE(kills, kKills);
  // At most the victim's in-flight jobs per kill can run twice.
  EXPECT_LE(duplicates, kKills * 8 * 2);

  steady->Signal(SIGTERM);
  victim->Signal(SIGTERM);
  scheduler->Signal(SIGTERM);
  for (auto* p : {steady.get(), victim.get(), scheduler.get()}) {
    auto code = p->WaitExit(seconds(15));
    ASSERT_TRUE(code.has_value()) << "did not exit on SIGTERM\n" << p->Output();
    EXPECT_EQ(*code, 0) << p->Output();
  }
}

std::string SubmitOne(Client& client, const std::string& name, const std::string& payload,
                      int64_t run_at_unix_ms = 0) {
  JobSpec spec;
  spec.name = name;
  spec.payload = payload;
  spec.run_at_unix_ms = run_at_unix_ms;
  auto r = client.Submit(spec);
  EXPECT_OK(r);
  return r.ok() ? r->id : "";
}

bool IsActive(Client& client, const std::string& id) {
  auto job = client.Get(id);
  return job.ok() && job->state == JobState::kActive;
}

TEST_F(ChaosTest, SigtermLetsRunningJobFinishAndExitsZero) {
  auto worker = Spawn("worker");
  ASSERT_TRUE(worker);
  std::string id = SubmitOne(*client_, "sleep", R"({"ms":700})");
  ASSERT_TRUE(WaitFor([&] { return IsActive(*client_, id); }));
  worker->Signal(SIGTERM);
  auto code = worker->WaitExit(seconds(15));
  ASSERT_TRUE(code.has_value()) << worker->Output();
  EXPECT_EQ(*code, 0) << worker->Output();
  auto job = client_->Get(id);
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kCompleted);  // finished inside the grace period
  EXPECT_EQ(job->attempts, 1);
}

TEST_F(ChaosTest, GraceRunOutHandsJobBackAndItCompletesOnAnotherWorker) {
  auto env = Env();
  env["SHUTDOWN_GRACE"] = "200ms";
  auto first = Process::Start({{BANANAS_BIN, "worker"}, env});
  ASSERT_OK(first);
  std::string id = SubmitOne(*client_, "sleep", R"({"ms":1500})");
  ASSERT_TRUE(WaitFor([&] { return IsActive(*client_, id); }));
  (*first)->Signal(SIGTERM);
  auto code = (*first)->WaitExit(seconds(15));
  ASSERT_TRUE(code.has_value()) << (*first)->Output();
  EXPECT_EQ(*code, 0) << (*first)->Output();
  auto handed_back = client_->Get(id);
  ASSERT_OK(handed_back);
  EXPECT_EQ(handed_back->state, JobState::kPending);

  auto second = Spawn("worker");
  ASSERT_TRUE(second);
  auto done = client_->Wait(id, seconds(30));
  ASSERT_OK(done);
  EXPECT_EQ(done->state, JobState::kCompleted);
  EXPECT_EQ(done->attempts, 1);  // the interrupted run was not counted
}

TEST_F(ChaosTest, RedisRestartWithSameAofKeepsServicesRunning) {
  auto scheduler = Spawn("scheduler");
  auto worker = Spawn("worker");
  ASSERT_TRUE(scheduler && worker);
  std::string before = SubmitOne(*client_, "echo", "before");
  ASSERT_OK(client_->Wait(before, seconds(30)));
  // A delayed job that falls due while Redis is down, and work in flight.
  std::string delayed = SubmitOne(*client_, "echo", "delayed", NowMs() + 300);
  std::string running = SubmitOne(*client_, "sleep", R"({"ms":200})");

  ASSERT_OK(server_->Restart());  // same port, same AOF directory

  std::vector<std::string> after;
  for (int i = 0; i < 50; ++i) {
    // The client reconnects by itself; its first call after the restart may fail once.
    auto id = [&] {
      for (int attempt = 0; attempt < 50; ++attempt) {
        JobSpec spec;
        spec.name = "echo";
        spec.payload = std::to_string(i);
        auto r = client_->Submit(spec);
        if (r.ok()) return r->id;
      }
      return std::string();
    }();
    ASSERT_FALSE(id.empty());
    after.push_back(id);
  }
  std::string delayed_after = SubmitOne(*client_, "echo", "later", NowMs() + 200);
  for (const auto& id : after) {
    auto job = client_->Wait(id, seconds(60));
    ASSERT_OK(job);
    EXPECT_EQ(job->state, JobState::kCompleted);
  }
  for (const auto& id : {delayed, running, delayed_after}) {
    auto job = client_->Wait(id, seconds(60));
    ASSERT_OK(job);
    EXPECT_EQ(job->state, JobState::kCompleted) << id;
  }
  EXPECT_EQ(client_->Get(before)->state, JobState::kCompleted);  // survived in the AOF
  for (auto* p : {worker.get(), scheduler.get()}) {
    p->Signal(SIGTERM);
    auto code = p->WaitExit(seconds(15));
    ASSERT_TRUE(code.has_value()) << p->Output();
    EXPECT_EQ(*code, 0) << p->Output();
  }
}

}  // namespace
}  // namespace bananas::testing
