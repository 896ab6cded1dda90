// The Worker against a real Redis: outcomes, timeouts, cancellation, filters and graceful
// shutdown. Jobs are submitted with the public Client and awaited with Client::Wait.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "bananas/client.h"
#include "bananas/inspector.h"
#include "bananas/worker.h"
#include "scheduler/scheduler.h"
#include "redis_server.h"
#include "test_util.h"

namespace bananas::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

int64_t NowUnixMsForTest() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class WorkerTest : public ::testing::Test {
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
    ClientOptions co;
    co.redis_url = Server().url();
    auto c = Client::Connect(co);
    ASSERT_OK(c);
    client_ = std::move(*c);
  }

  WorkerOptions Options() {
    WorkerOptions o;
    o.redis_url = Server().url();
    o.concurrency = 4;
    o.lease_timeout = milliseconds(600);  // heartbeat every 200 ms
    o.shutdown_grace = seconds(5);
    return o;
  }

  std::unique_ptr<Worker> StartWorker(const WorkerOptions& o,
                                      const std::function<void(Worker&)>& extra = {}) {
    auto w = Worker::Create(o);
    EXPECT_OK(w);
    if (!w) return nullptr;
    EXPECT_OK((*w)->RegisterBuiltins());
    if (extra) extra(**w);
    EXPECT_OK((*w)->Start());
    return std::move(*w);
  }

  std::string Submit(const std::string& name, const std::string& payload = "",
                     int max_retries = 3, int64_t timeout_ms = 0) {
    JobSpec spec;
    spec.name = name;
    spec.payload = payload;
    spec.max_retries = max_retries;
    spec.timeout_ms = timeout_ms;
    auto r = client_->Submit(spec);
    EXPECT_OK(r);
    return r.ok() ? r->id : "";
  }

  Job WaitDone(const std::string& id) {
    auto job = client_->Wait(id, seconds(30));
    EXPECT_OK(job);
    return job.ok() ? *job : Job{};
  }

  std::unique_ptr<Client> client_;
};

TEST_F(WorkerTest, RunsJobAndStoresResult) {
  auto worker = StartWorker(Options());
  std::string id = Submit("echo", R"({"hello":"world"})");
  Job job = WaitDone(id);
  EXPECT_EQ(job.state, JobState::kCompleted);
  EXPECT_EQ(job.result, R"({"hello":"world"})");
  EXPECT_EQ(job.attempts, 1);
  worker->Stop();
  worker->Wait();
  EXPECT_EQ(worker->stats().succeeded, 1);
}

TEST_F(WorkerTest, ManyJobsAllCompleteOnce) {
  std::atomic<int> runs{0};
  auto counting = StartWorker(Options(), [&](Worker& w) {
    ASSERT_OK(w.Register("count", [&](JobContext&) -> Result<std::string> {
      runs.fetch_add(1);
      return std::string("ok");
    }));
  });
  std::vector<JobSpec> specs(500);
  for (auto& s : specs) s.name = "count";
  auto ids = client_->SubmitBatch(specs);
  ASSERT_OK(ids);
  for (const auto& s : *ids) EXPECT_EQ(WaitDone(s.id).state, JobState::kCompleted);
  EXPECT_EQ(runs.load(), 500);
}

TEST_F(WorkerTest, ThrowingHandlerFailsWithItsMessage) {
  auto worker = StartWorker(Options(), [](Worker& w) {
    ASSERT_OK(w.Register("throws", [](JobContext&) -> Result<std::string> {
      throw std::runtime_error("disk on fire");
    }));
  });
  std::string id = Submit("throws", "", 0);
  Job job = WaitDone(id);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_NE(job.error.find("disk on fire"), std::string::npos) << job.error;
}

TEST_F(WorkerTest, ResultOverMaxResultBytesFailsTheJobWithoutRetry) {
  WorkerOptions o = Options();
  o.max_result_bytes = 100;
  auto worker = StartWorker(o);
  std::string fits = Submit("echo", std::string(100, 'a'));
  std::string big = Submit("echo", std::string(101, 'b'), 3);
  EXPECT_EQ(WaitDone(fits).state, JobState::kCompleted);
  Job job = WaitDone(big);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.attempts, 1);
  EXPECT_EQ(job.result, "");
  EXPECT_EQ(job.error, "result of 101 bytes exceeds MAX_RESULT_BYTES (100 bytes)");
  worker->Stop();
  worker->Wait();
  EXPECT_EQ(worker->stats().succeeded, 1);
  EXPECT_EQ(worker->stats().failed, 1);  // counted as the failure it is, not a lost lease
  EXPECT_EQ(worker->stats().lease_lost, 0);
}

TEST_F(WorkerTest, PermanentErrorSkipsRetries) {
  auto worker = StartWorker(Options());
  std::string id = Submit("sleep", "not json", 5);
  Job job = WaitDone(id);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.attempts, 1);
  EXPECT_NE(job.error.find("JSON object"), std::string::npos) << job.error;
}

TEST_F(WorkerTest, TimedOutJobFailsAsTimedOut) {
  auto worker = StartWorker(Options(), [](Worker& w) {
    // Ignores cancellation: the worker must fail it anyway, on time.
    ASSERT_OK(w.Register("stuck", [](JobContext&) -> Result<std::string> {
      std::this_thread::sleep_for(seconds(3));
      return std::string("too late");
    }));
  });
  std::string id = Submit("stuck", "", 0, 200);
  auto start = std::chrono::steady_clock::now();
  Job job = WaitDone(id);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_NE(job.error.find("timed out after 200ms"), std::string::npos) << job.error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(3));  // did not wait for it
  // The pool replaced the stuck thread: other jobs still run.
  EXPECT_EQ(WaitDone(Submit("noop")).state, JobState::kCompleted);
}

TEST_F(WorkerTest, CancelledActiveJobEndsCancelled) {
  auto worker = StartWorker(Options());
  std::string id = Submit("sleep", R"({"ms":30000})");
  ASSERT_TRUE(WaitFor([&] {
    auto j = client_->Get(id);
    return j.ok() && j->state == JobState::kActive;
  }));
  auto c = client_->Cancel(id);
  ASSERT_OK(c);
  EXPECT_EQ(*c, CancelResult::kRequested);
  Job job = WaitDone(id);
  EXPECT_EQ(job.state, JobState::kCancelled);
}

TEST_F(WorkerTest, JobTypeFilterNeverTakesOtherTypes) {
  WorkerOptions o = Options();
  o.job_types = {"echo"};
  auto worker = StartWorker(o);
  std::string other = Submit("noop");
  std::string mine = Submit("echo", "x");
  EXPECT_EQ(WaitDone(mine).state, JobState::kCompleted);
  auto job = client_->Get(other);
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kPending);
  EXPECT_EQ(job->attempts, 0);
}

TEST_F(WorkerTest, UnknownTypeFailsNamingIt) {
  auto worker = StartWorker(Options());
  std::string id = Submit("no.such.handler", "", 0);
  Job job = WaitDone(id);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_NE(job.error.find("no handler registered for job type \"no.such.handler\""),
            std::string::npos);
}

TEST_F(WorkerTest, GracefulStopLetsRunningJobFinish) {
  auto worker = StartWorker(Options());
  std::string id = Submit("sleep", R"({"ms":300})");
  ASSERT_TRUE(WaitFor([&] { return worker->stats().active == 1; }));
  worker->Stop();
  worker->Wait();
  auto job = client_->Get(id);
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kCompleted);
  EXPECT_EQ(worker->stats().handed_back, 0);
}

TEST_F(WorkerTest, GraceExpiredJobIsHandedBackAndRunsElsewhere) {
  WorkerOptions o = Options();
  o.shutdown_grace = milliseconds(200);
  auto first = StartWorker(o, [](Worker& w) {
    ASSERT_OK(w.Register("slow", [](JobContext& c) -> Result<std::string> {
      c.SleepFor(seconds(20));
      return Status::Cancelled("interrupted");
    }));
  });
  std::string id = Submit("slow");
  ASSERT_TRUE(WaitFor([&] { return first->stats().active == 1; }));
  first->Stop();
  first->Wait();
  EXPECT_EQ(first->stats().handed_back, 1);
  auto pending = client_->Get(id);
  ASSERT_OK(pending);
  EXPECT_EQ(pending->state, JobState::kPending);
  EXPECT_EQ(pending->attempts, 0);  // the interrupted run is not counted

  auto second = StartWorker(Options(), [](Worker& w) {
    ASSERT_OK(w.Register("slow", [](JobContext&) -> Result<std::string> {
      return std::string("done on the second worker");
    }));
  });
  Job job = WaitDone(id);
  EXPECT_EQ(job.state, JobState::kCompleted);
  EXPECT_EQ(job.result, "done on the second worker");
}

// Prefetch (WorkerOptions::prefetch) holds jobs beyond the concurrency only while jobs are
// short: a fresh worker has seen no short jobs yet, and sleep jobs are long.
TEST_F(WorkerTest, LongJobsAreNotPrefetched) {
  WorkerOptions o = Options();
  o.concurrency = 1;
  o.prefetch = 8;
  auto worker = StartWorker(o);
  std::vector<JobSpec> specs(3);
  for (auto& s : specs) {
    s.name = "sleep";
    s.payload = R"({"ms":400})";
  }
  auto ids = client_->SubmitBatch(specs);
  ASSERT_OK(ids);
  ASSERT_TRUE(WaitFor([&] { return worker->stats().active == 1; }));
  std::this_thread::sleep_for(milliseconds(150));  // the fetcher had time to take more
  EXPECT_EQ(worker->stats().active, 1);
  int pending = 0;
  for (const auto& r : *ids) {
    auto job = client_->Get(r.id);
    ASSERT_OK(job);
    pending += job->state == JobState::kPending ? 1 : 0;
  }
  EXPECT_EQ(pending, 2);
}

// After short jobs, a batch is leased at once beyond the concurrency; each waiting job's
// timeout counts from its own start, and one cancelled while it waits never runs. (Jobs
// that run longer than a few tens of ms make the worker hand back what waits: see
// tests/e2e/delivery_test.cc. These are shorter.)
TEST_F(WorkerTest, PrefetchedJobsWaitWithoutUsingTheirTimeout) {
  WorkerOptions o = Options();
  o.concurrency = 1;
  o.prefetch = 48;
  std::atomic<int> counted{0};
  auto worker = StartWorker(o, [&](Worker& w) {
    ASSERT_OK(w.Register("count", [&](JobContext&) -> Result<std::string> {
      counted.fetch_add(1);
      return std::string("ran");
    }));
  });
  std::vector<JobSpec> warm(300);
  for (auto& s : warm) s.name = "noop";
  auto warm_ids = client_->SubmitBatch(warm);
  ASSERT_OK(warm_ids);
  for (const auto& r : *warm_ids) ASSERT_EQ(WaitDone(r.id).state, JobState::kCompleted);

  // Forty 12 ms jobs with a 200 ms timeout each, and a job to cancel behind them: run one at
  // a time, the last sleep starts ~480 ms after its lease, and a heartbeat (every 200 ms)
  // learns of the cancellation before an executor reaches the job.
  constexpr int kSleeps = 40;
  std::vector<JobSpec> specs(kSleeps + 1);
  for (int i = 0; i < kSleeps; ++i) {
    specs[i].name = "sleep";
    specs[i].payload = R"({"ms":12})";
    specs[i].timeout_ms = 200;
  }
  specs[kSleeps].name = "count";
  auto ids = client_->SubmitBatch(specs);
  ASSERT_OK(ids);
  auto cancel = client_->Cancel((*ids)[kSleeps].id);
  ASSERT_OK(cancel);
  for (int i = 0; i < kSleeps; ++i) {
    Job job = WaitDone((*ids)[i].id);
    EXPECT_EQ(job.state, JobState::kCompleted) << i << ": " << job.error;
  }
  Job cancelled = WaitDone((*ids)[kSleeps].id);
  EXPECT_EQ(cancelled.state, JobState::kCancelled);
  EXPECT_EQ(counted.load(), 0);
}

// Short jobs run one after another on the executor that has them (one wake-up for a
// batch, not one per job). A job that turns out long must not hold the short ones queued
// behind it: another executor takes them (the heartbeat calls one within ~2 x kLongRun).
TEST_F(WorkerTest, ShortJobsAreNotHeldBehindOneThatTurnsOutLong) {
  WorkerOptions o = Options();
  o.concurrency = 4;
  o.prefetch = 32;
  auto worker = StartWorker(o);
  std::vector<JobSpec> warm(300);
  for (auto& s : warm) s.name = "noop";
  auto warm_ids = client_->SubmitBatch(warm);
  ASSERT_OK(warm_ids);
  for (const auto& r : *warm_ids) ASSERT_EQ(WaitDone(r.id).state, JobState::kCompleted);

  // One batch, the long job first: submitted to the paused queue, so that the resumed
  // worker leases it and the no-ops in one dequeue while jobs are short; the executor that
  // takes the long one would otherwise run them after it.
  InspectorOptions io;
  io.redis_url = Server().url();
  auto inspector = Inspector::Connect(io);
  ASSERT_OK(inspector);
  ASSERT_OK((*inspector)->Pause("default"));
  std::vector<JobSpec> specs(9);
  specs[0].name = "sleep";
  specs[0].payload = R"({"ms":6000})";
  for (size_t i = 1; i < specs.size(); ++i) specs[i].name = "noop";
  auto ids = client_->SubmitBatch(specs);
  ASSERT_OK(ids);
  ASSERT_OK((*inspector)->Resume("default"));
  for (size_t i = 1; i < ids->size(); ++i) {
    Job job = WaitDone((*ids)[i].id);
    EXPECT_EQ(job.state, JobState::kCompleted) << i;
  }
  auto long_job = client_->Get((*ids)[0].id);
  ASSERT_OK(long_job);
  // Generous: the no-ops take milliseconds; only waiting for the 6 s job fails this.
  EXPECT_EQ(long_job->state, JobState::kActive) << "the no-ops waited for the long job";
  EXPECT_EQ(WaitDone((*ids)[0].id).state, JobState::kCompleted);
}

// An idle worker is registered for hand-off (enqueue.lua leases new jobs to its inbox); the
// registration is used by the next job and renewed, and taken back when the worker stops.
TEST_F(WorkerTest, IdleWorkerTakesHandedJobsAndUnregistersOnStop) {
  auto worker = StartWorker(Options());
  auto registered = [&] { return Server().Cli({"ZCARD", "bananas:{default}:idle"}) == "1"; };
  ASSERT_TRUE(WaitFor(registered));
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(WaitFor(registered));
    EXPECT_EQ(WaitDone(Submit("echo", std::to_string(i))).result, std::to_string(i));
  }
  worker->Stop();
  worker->Wait();
  EXPECT_EQ(Server().Cli({"ZCARD", "bananas:{default}:idle"}), "0");
  EXPECT_EQ(worker->stats().succeeded, 20);
  // Nothing is handed to a stopped worker: the next job waits in pending for anyone.
  std::string id = Submit("noop");
  auto job = client_->Get(id);
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kPending);
}

// A worker made busy by a hand-off in one queue takes back its idle registration in the
// others: a job there must wait for a free worker, not sit in a busy one's inbox.
TEST_F(WorkerTest, BusyWorkerIsNotHandedJobsOfItsOtherQueues) {
  WorkerOptions o = Options();
  o.queues = {"a", "b"};
  o.concurrency = 1;
  o.prefetch = 0;
  auto worker = StartWorker(o);
  auto idle_in = [&](const std::string& q) {
    return Server().Cli({"ZCARD", "bananas:{" + q + "}:idle"}) == "1";
  };
  ASSERT_TRUE(WaitFor([&] { return idle_in("a") && idle_in("b"); }));
  JobSpec long_job;
  long_job.name = "sleep";
  long_job.queue = "a";
  long_job.payload = R"({"ms":1500})";
  auto first = client_->Submit(long_job);
  ASSERT_OK(first);
  ASSERT_TRUE(WaitFor([&] { return worker->stats().active == 1; }));
  ASSERT_TRUE(WaitFor([&] { return !idle_in("b"); }));
  JobSpec other;
  other.name = "noop";
  other.queue = "b";
  auto second = client_->Submit(other);
  ASSERT_OK(second);
  auto job = client_->Get(second->id);
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kPending);
  // It runs once the worker is free.
  EXPECT_EQ(WaitDone(second->id).state, JobState::kCompleted);
}

TEST_F(WorkerTest, WorkerRecordIsListed) {
  auto worker = StartWorker(Options());
  ASSERT_TRUE(WaitFor([&] {
    return Server().Cli({"ZSCORE", "bananas:workers", worker->id()}) != "";
  }));
  EXPECT_EQ(Server().Cli({"HGET", "bananas:worker:" + worker->id(), "concurrency"}), "4");
  worker->Stop();
  worker->Wait();
  EXPECT_EQ(Server().Cli({"ZSCORE", "bananas:workers", worker->id()}), "");
}

// Issue 13, item 3: an outcome is retried for as long as the lease is renewed. A job that
// runs past its first lease deadline (renewed by heartbeats) finishes while Redis is down
// for a moment. Before the fix, the ack was retried only until the dequeue-time deadline,
// which heartbeats never moved, so it was dropped at once; heartbeats had stopped too, so
// the lease expired and the job ran a second time.
TEST_F(WorkerTest, OutcomeWrittenAfterARedisOutageAtTheEndOfALongJob) {
  RedisServerOptions ro;
  ro.appendonly = true;  // the restart keeps the job
  auto server = RedisServer::Start(ro);
  ASSERT_OK(server);
  RedisServer& redis = **server;
  ClientOptions co;
  co.redis_url = redis.url();
  auto client = Client::Connect(co);
  ASSERT_OK(client);

  scheduler::SchedulerOptions so;
  so.redis_url = redis.url();
  so.lease_timeout = milliseconds(2000);
  so.recovery_interval = milliseconds(200);
  so.cron = false;
  auto sched = scheduler::Scheduler::Create(so);
  ASSERT_OK(sched);
  ASSERT_OK((*sched)->Start());

  std::atomic<int> runs{0};
  std::thread restarter;
  struct Joiner {
    std::thread& t;
    ~Joiner() {
      if (t.joinable()) t.join();
    }
  } joiner{restarter};
  WorkerOptions o = Options();
  o.redis_url = redis.url();
  o.lease_timeout = milliseconds(2000);  // heartbeat every ~667 ms
  auto worker = StartWorker(o, [&](Worker& w) {
    ASSERT_OK(w.Register("long", [&](JobContext& ctx) -> Result<std::string> {
      if (runs.fetch_add(1) > 0) return std::string("ran again");
      ctx.SleepFor(milliseconds(3000));  // past the first lease deadline
      // Redis goes away as the job ends, and comes back 500 ms later: well within the lease
      // the last heartbeat renewed.
      redis.Stop();
      restarter = std::thread([&] {
        std::this_thread::sleep_for(milliseconds(500));
        ASSERT_OK(redis.Restart());
      });
      return std::string("done");
    }));
  });
  JobSpec spec;
  spec.name = "long";
  spec.max_retries = 3;
  auto submitted = (*client)->Submit(spec);
  ASSERT_OK(submitted);
  ASSERT_TRUE(WaitFor([&] {
    auto job = (*client)->Get(submitted->id);
    return job.ok() && job->state == JobState::kCompleted;
  }, seconds(30))) << "runs: " << runs.load();
  // Long enough for a wrongly expired lease to be recovered and run again.
  std::this_thread::sleep_for(milliseconds(2500));
  if (restarter.joinable()) restarter.join();
  auto job = (*client)->Get(submitted->id);
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kCompleted);
  EXPECT_EQ(job->attempts, 1);
  EXPECT_EQ(job->result, "done");
  EXPECT_EQ(runs.load(), 1);
  worker->Stop();
  worker->Wait();
  (*sched)->Stop();
  (*sched)->Wait();
}

// Issue 13, item 4: the queue registry is lost (a failover, a restart without persistence:
// here its key is deleted). A worker serving the queue puts it back at its next heartbeat,
// so a scheduler started afterwards still promotes the queue's delayed job. Before, nothing
// re-asserted a queue once a process had registered it, and the job stayed scheduled.
TEST_F(WorkerTest, LostRegistryIsRestoredByTheWorkersServingIt) {
  WorkerOptions o = Options();
  o.queues = {"emails"};
  auto worker = StartWorker(o);
  JobSpec spec;
  spec.name = "noop";
  spec.queue = "emails";
  spec.run_at_unix_ms = NowUnixMsForTest() + 1500;
  auto submitted = client_->Submit(spec);
  ASSERT_OK(submitted);
  Server().Cli({"DEL", "bananas:queues"});

  scheduler::SchedulerOptions so;
  so.redis_url = Server().url();
  so.lease_timeout = o.lease_timeout;
  so.queue_refresh = milliseconds(200);
  so.queue_discovery = std::chrono::hours(1);  // only the first scan, at start, before...
  so.cron = false;
  std::this_thread::sleep_for(milliseconds(50));
  auto sched = scheduler::Scheduler::Create(so);
  ASSERT_OK(sched);
  ASSERT_OK((*sched)->Start());
  Job job = WaitDone(submitted->id);
  EXPECT_EQ(job.state, JobState::kCompleted);
  (*sched)->Stop();
  (*sched)->Wait();
}

// With no service using the queue any more, a scheduler still finds the queue by its keys,
// so its delayed job is promoted (it waits pending for a worker).
TEST_F(WorkerTest, SchedulerFindsQueuesTheRegistryLost) {
  JobSpec spec;
  spec.name = "noop";
  spec.queue = "reports";
  spec.run_at_unix_ms = NowUnixMsForTest() + 300;
  auto submitted = client_->Submit(spec);
  ASSERT_OK(submitted);
  Server().Cli({"DEL", "bananas:queues"});
  scheduler::SchedulerOptions so;
  so.redis_url = Server().url();
  so.queue_refresh = milliseconds(200);
  so.recovery_interval = milliseconds(100);
  so.cron = false;
  auto sched = scheduler::Scheduler::Create(so);
  ASSERT_OK(sched);
  ASSERT_OK((*sched)->Start());
  EXPECT_TRUE(WaitFor([&] {
    auto job = client_->Get(submitted->id);
    return job.ok() && job->state == JobState::kPending;
  }, seconds(10)));
  InspectorOptions io;
  io.redis_url = Server().url();
  auto inspector = Inspector::Connect(io);
  ASSERT_OK(inspector);
  auto queues = (*inspector)->Queues();
  ASSERT_OK(queues);
  bool listed = false;
  for (const auto& q : *queues) listed = listed || q.name == "reports";
  EXPECT_TRUE(listed) << "the found queue is back in the registry";
  (*sched)->Stop();
  (*sched)->Wait();
}

// A queue that holds nothing and that no service used for QUEUE_PRUNE_AFTER leaves the
// registry; one that still holds a job (here a dead one) stays.
TEST_F(WorkerTest, EmptyUnusedQueuesArePruned) {
  JobSpec spec;
  spec.name = "noop";
  spec.queue = "gone";
  spec.run_at_unix_ms = NowUnixMsForTest() + 100;
  auto submitted = client_->Submit(spec);
  ASSERT_OK(submitted);
  ASSERT_OK(client_->Cancel(submitted->id));  // "gone" is empty now
  JobSpec dead;
  dead.name = "fail";
  dead.queue = "kept";
  dead.max_retries = 0;
  auto failing = client_->Submit(dead);
  ASSERT_OK(failing);
  WorkerOptions o = Options();
  o.queues = {"kept"};
  {
    auto worker = StartWorker(o);
    EXPECT_EQ(WaitDone(failing->id).state, JobState::kFailed);
    worker->Stop();
    worker->Wait();
  }
  std::this_thread::sleep_for(milliseconds(200));
  scheduler::SchedulerOptions so;
  so.redis_url = Server().url();
  so.recovery_interval = milliseconds(100);
  so.queue_prune_after = milliseconds(100);
  so.cron = false;
  auto sched = scheduler::Scheduler::Create(so);
  ASSERT_OK(sched);
  ASSERT_OK((*sched)->Start());
  InspectorOptions io;
  io.redis_url = Server().url();
  auto inspector = Inspector::Connect(io);
  ASSERT_OK(inspector);
  auto names = [&] {
    std::vector<std::string> out;
    auto queues = (*inspector)->Queues();
    if (queues.ok()) {
      for (const auto& q : *queues) out.push_back(q.name);
    }
    return out;
  };
  EXPECT_TRUE(WaitFor([&] { return names() == std::vector<std::string>{"kept"}; }, seconds(10)))
      << ::testing::PrintToString(names());
  (*sched)->Stop();
  (*sched)->Wait();
}

}  // namespace
}  // namespace bananas::testing
