// Cron schedules against a real redis-server: what each schedule script guarantees (state
// kept, compare-and-set of next_run), the runner's missed-occurrence policies with a pinned
// clock, and the exactly-once promise with three schedulers on the real clock.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "cron/cron.h"
#include "fault_proxy.h"
#include "queue/broker.h"
#include "queue/lua_sources.h"
#include "queue/schedule_store.h"
#include "redis/connection.h"
#include "redis/script.h"
#include "redis_server.h"
#include "scheduler/cron_runner.h"
#include "scheduler/scheduler.h"
#include "test_util.h"

namespace bananas::testing {
namespace {

using queue::MissedPolicy;
using queue::PutMode;
using queue::ScheduleSpec;
using queue::ScheduleStore;

// 2026-01-01T00:00:00Z.
constexpr int64_t kJan1 = 1767225600000;

class CronTest : public ::testing::Test {
 protected:
  static RedisServer& Server() {
    static std::unique_ptr<RedisServer> server = [] {
      auto s = RedisServer::Start();
      if (!s) {
        ADD_FAILURE() << s.status().ToString();
        std::abort();
      }
      return std::move(*s);
    }();
    return *server;
  }

  void SetUp() override {
    auto options = redis::Options::FromUrl(Server().url());
    ASSERT_OK(options);
    auto conn = redis::Connection::Open(*options);
    ASSERT_OK(conn);
    conn_ = std::move(*conn);
    ASSERT_OK(conn_->Run(redis::Command("FLUSHALL")));
    broker_ = std::make_unique<queue::Broker>(*conn_, queue::BrokerOptions{}, clock_);
    store_ = std::make_unique<ScheduleStore>(*conn_, "bananas", clock_);
  }

  static ScheduleSpec Spec(const std::string& id, const std::string& cron,
                           MissedPolicy missed = MissedPolicy::kOnce) {
    ScheduleSpec spec;
    spec.id = id;
    spec.cron = cron;
    spec.missed = missed;
    spec.job.name = "report";
    spec.job.payload = R"({"kind":"daily"})";
    return spec;
  }

  // Stores `spec` with its next run computed from `now`, as the API does.
  void Create(const ScheduleSpec& spec, int64_t now) {
    auto cron = cron::CronSchedule::Parse(spec.cron, spec.timezone);
    ASSERT_OK(cron);
    ASSERT_OK(store_->Put(spec, cron->Next(now), PutMode::kCreate));
  }

  std::vector<Job> PendingJobs(const std::string& queue = "default") {
    std::vector<Job> out;
    auto ids = conn_->Run(redis::Command("LRANGE")
                              .Arg(broker_->keys().Pending(queue, Priority::kNormal))
                              .Arg(0)
                              .Arg(-1));
    EXPECT_OK(ids);
    if (!ids.ok()) return out;
    for (const auto& id : ids->elements) {
      auto job = broker_->GetJob(id.str);
      EXPECT_OK(job);
      if (job.ok()) out.push_back(std::move(*job));
    }
    return out;
  }

  // The occurrence a job was enqueued for, from its unique key "sched:<id>:<ms>".
  static int64_t OccurrenceOf(const Job& job) {
    size_t colon = job.unique_key.rfind(':');
    return colon == std::string::npos ? -1 : std::stoll(job.unique_key.substr(colon + 1));
  }

  int64_t ZScore(const std::string& key, const std::string& member) {
    auto r = conn_->Run(redis::Command("ZSCORE").Arg(key).Arg(member));
    EXPECT_OK(r);
    return r.ok() && !r->is_nil() ? std::stoll(r->str) : -1;
  }

  ManualClock clock_{kJan1};
  std::unique_ptr<redis::Connection> conn_;
  std::unique_ptr<queue::Broker> broker_;
  std::unique_ptr<ScheduleStore> store_;
};

TEST_F(CronTest, PutCreatesOnceAndReplaceKeepsState) {
  Create(Spec("nightly", "0 2 * * *"), kJan1);
  auto again = store_->Put(Spec("nightly", "0 2 * * *"), kJan1 + 7'200'000, PutMode::kCreate);
  EXPECT_EQ(again.status().code(), Status::Code::kAlreadyExists);
  auto missing = store_->Put(Spec("other", "0 2 * * *"), 0, PutMode::kReplace);
  EXPECT_TRUE(missing.status().IsNotFound());

  ASSERT_OK(store_->RecordTrigger("nightly", kJan1 + 5, "J1"));
  ASSERT_OK(store_->Pause("nightly"));
  // Same cron and zone: next_run kept; state and pause survive the replace.
  ScheduleSpec changed = Spec("nightly", "0 2 * * *");
  changed.job.priority = Priority::kHigh;
  ASSERT_OK(store_->Put(changed, kJan1 + 999'000, PutMode::kReplace));
  auto s = store_->Get("nightly");
  ASSERT_OK(s);
  EXPECT_EQ(s->next_run_unix_ms, kJan1 + 7'200'000);
  EXPECT_EQ(s->run_count, 1);
  EXPECT_EQ(s->last_job_id, "J1");
  EXPECT_TRUE(s->paused);
  EXPECT_EQ(s->spec.job.priority, Priority::kHigh);
  EXPECT_EQ(ZScore(store_->keys().ScheduleDue(), "nightly"), -1);  // paused: not due

  // A new expression starts from the given next run.
  ASSERT_OK(store_->Resume("nightly", kJan1 + 7'200'000));
  ASSERT_OK(store_->Put(Spec("nightly", "0 3 * * *"), kJan1 + 10'800'000, PutMode::kUpsert));
  EXPECT_EQ(ZScore(store_->keys().ScheduleDue(), "nightly"), kJan1 + 10'800'000);

  ASSERT_OK(store_->Delete("nightly"));
  EXPECT_TRUE(store_->Get("nightly").status().IsNotFound());
  EXPECT_EQ(ZScore(store_->keys().ScheduleDue(), "nightly"), -1);
  EXPECT_TRUE(store_->Delete("nightly").IsNotFound());
}

TEST_F(CronTest, DisabledScheduleIsNeverDue) {
  ScheduleSpec spec = Spec("off", "* * * * *");
  spec.enabled = false;
  Create(spec, kJan1);
  EXPECT_EQ(ZScore(store_->keys().ScheduleDue(), "off"), -1);
  ASSERT_OK(store_->Resume("off", kJan1 + 60'000));
  EXPECT_EQ(ZScore(store_->keys().ScheduleDue(), "off"), -1);
}

TEST_F(CronTest, AdvanceRecordsEachOccurrenceOnce) {
  Create(Spec("m", "* * * * *"), kJan1);
  ScheduleStore::Fired fired;
  fired.occurrence_unix_ms = kJan1 + 60'000;
  fired.next_run_unix_ms = kJan1 + 120'000;
  fired.ran = true;
  fired.job_id = "J";
  auto first = store_->RecordFire("m", fired);
  auto second = store_->RecordFire("m", fired);
  ASSERT_OK(first);
  ASSERT_OK(second);
  EXPECT_TRUE(*first);
  EXPECT_FALSE(*second);
  auto s = store_->Get("m");
  ASSERT_OK(s);
  EXPECT_EQ(s->run_count, 1);
  EXPECT_EQ(s->last_run_unix_ms, kJan1 + 60'000);
  EXPECT_EQ(s->next_run_unix_ms, kJan1 + 120'000);
  EXPECT_EQ(ZScore(store_->keys().ScheduleDue(), "m"), kJan1 + 120'000);
}

TEST_F(CronTest, TwoRunnersOnOneOccurrenceEnqueueOneJob) {
  Create(Spec("m", "* * * * *"), kJan1);
  clock_.Set(kJan1 + 60'000);
  // Both read the same due entry; one enqueues and records, the other's enqueue is a
  // duplicate of the first and its record refused.
  auto due = store_->Due(clock_.NowMs(), 10);
  ASSERT_OK(due);
  ASSERT_EQ(due->size(), 1u);
  auto conn2 = redis::Connection::Open(*redis::Options::FromUrl(Server().url()));
  ASSERT_OK(conn2);
  queue::Broker broker2(**conn2, queue::BrokerOptions{}, clock_);
  ScheduleStore store2(**conn2, "bananas", clock_);
  scheduler::CronRunner a(*broker_, *store_, clock_);
  scheduler::CronRunner b(broker2, store2, clock_);
  auto ra = a.RunDue(10);
  auto rb = b.RunDue(10);
  ASSERT_OK(ra);
  ASSERT_OK(rb);
  auto jobs = PendingJobs();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].unique_key, "sched:m:" + std::to_string(kJan1 + 60'000));
  EXPECT_EQ(jobs[0].name, "report");
  EXPECT_EQ(jobs[0].payload, R"({"kind":"daily"})");
  auto s = store_->Get("m");
  ASSERT_OK(s);
  EXPECT_EQ(s->run_count, 1);
  EXPECT_EQ(s->last_job_id, jobs[0].id);
  EXPECT_EQ(s->next_run_unix_ms, kJan1 + 120'000);
}

TEST_F(CronTest, MissedOnceRunsTheOldestOnceThenContinuesFromNow) {
  Create(Spec("m", "* * * * *"), kJan1);
  clock_.Set(kJan1 + 10 * 60'000 + 5'000);  // ten occurrences passed with no scheduler
  scheduler::CronRunner runner(*broker_, *store_, clock_);
  auto round = runner.RunDue(10);
  ASSERT_OK(round);
  EXPECT_EQ(round->fired, 1);
  auto jobs = PendingJobs();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(OccurrenceOf(jobs[0]), kJan1 + 60'000);
  auto s = store_->Get("m");
  ASSERT_OK(s);
  EXPECT_EQ(s->next_run_unix_ms, kJan1 + 11 * 60'000);
  EXPECT_EQ(round->next_due_unix_ms, kJan1 + 11 * 60'000);
}

TEST_F(CronTest, MissedSkipRunsNothingButALateOccurrenceStillRuns) {
  Create(Spec("m", "* * * * *", MissedPolicy::kSkip), kJan1);
  clock_.Set(kJan1 + 10 * 60'000 + 5'000);
  scheduler::CronRunner runner(*broker_, *store_, clock_);
  ASSERT_OK(runner.RunDue(10));
  EXPECT_TRUE(PendingJobs().empty());
  auto s = store_->Get("m");
  ASSERT_OK(s);
  EXPECT_EQ(s->next_run_unix_ms, kJan1 + 11 * 60'000);
  EXPECT_EQ(s->run_count, 0);
  EXPECT_NE(s->last_error.find("skipped"), std::string::npos);
  // Late by 5 s, the next one not due yet: it runs.
  clock_.Set(kJan1 + 11 * 60'000 + 5'000);
  ASSERT_OK(runner.RunDue(10));
  ASSERT_EQ(PendingJobs().size(), 1u);
}

TEST_F(CronTest, MissedAllRunsEveryOccurrenceOfTheWindowInOrder) {
  Create(Spec("m", "* * * * *", MissedPolicy::kAll), kJan1);
  clock_.Set(kJan1 + 3 * 60'000 + 5'000);
  scheduler::CronRunner runner(*broker_, *store_, clock_);
  for (int i = 0; i < 5; ++i) ASSERT_OK(runner.RunDue(10));
  std::set<int64_t> occurrences;
  for (const Job& job : PendingJobs()) occurrences.insert(OccurrenceOf(job));
  EXPECT_EQ(occurrences, (std::set<int64_t>{kJan1 + 60'000, kJan1 + 120'000, kJan1 + 180'000}));
  // Occurrences older than the catch-up window (1 h) are dropped: of 01:00 .. 05:00, only
  // 04:30's window holds 05:00.
  Create(Spec("old", "0 * * * *", MissedPolicy::kAll), kJan1);
  clock_.Set(kJan1 + 5 * 3'600'000 + 30 * 60'000);
  for (int i = 0; i < 5; ++i) ASSERT_OK(runner.RunDue(10));
  std::set<int64_t> old;
  for (const Job& job : PendingJobs()) {
    if (job.unique_key.rfind("sched:old:", 0) == 0) old.insert(OccurrenceOf(job));
  }
  EXPECT_EQ(old, (std::set<int64_t>{kJan1 + 5 * 3'600'000}));
}

TEST_F(CronTest, ClaimBindsAnOccurrenceToOneQueueUntilRecorded) {
  ScheduleSpec spec = Spec("m", "* * * * *");
  spec.job.queue = "a";
  Create(spec, kJan1);
  const int64_t occurrence = kJan1 + 60'000;
  // Asking without claiming: current, unclaimed.
  auto peek = store_->ClaimOccurrence("m", occurrence, false);
  ASSERT_OK(peek);
  EXPECT_TRUE(peek->current);
  EXPECT_FALSE(peek->claimed);
  auto first = store_->ClaimOccurrence("m", occurrence, true);
  ASSERT_OK(first);
  EXPECT_TRUE(first->claimed);
  EXPECT_EQ(first->queue, "a");
  // The schedule moves to "b": the occurrence stays bound to "a", asked or not.
  spec.job.queue = "b";
  ASSERT_OK(store_->Put(spec, kJan1 + 120'000, PutMode::kReplace));
  for (bool claim : {true, false}) {
    auto again = store_->ClaimOccurrence("m", occurrence, claim);
    ASSERT_OK(again);
    EXPECT_TRUE(again->claimed);
    EXPECT_EQ(again->queue, "a");
  }
  // A stale occurrence, or one recorded, is not current: nobody enqueues it.
  auto stale = store_->ClaimOccurrence("m", occurrence - 60'000, true);
  ASSERT_OK(stale);
  EXPECT_FALSE(stale->current);
  ScheduleStore::Fired fired;
  fired.occurrence_unix_ms = occurrence;
  fired.next_run_unix_ms = occurrence + 60'000;
  fired.ran = true;
  ASSERT_OK(store_->RecordFire("m", fired));
  auto recorded = store_->ClaimOccurrence("m", occurrence, true);
  ASSERT_OK(recorded);
  EXPECT_FALSE(recorded->current);
  // The next occurrence is claimed for the schedule's queue now.
  auto next = store_->ClaimOccurrence("m", occurrence + 60'000, true);
  ASSERT_OK(next);
  EXPECT_EQ(next->queue, "b");
  auto gone = store_->ClaimOccurrence("nosuch", occurrence, true);
  ASSERT_OK(gone);
  EXPECT_FALSE(gone->current);
}

// Issue 13, item 10. Unique keys live under their queue's tag, so the dedup of an occurrence
// is per queue. A scheduler enqueued occurrence O on queue "a" and died before recording it
// (here: the record is refused); the schedule was then moved to queue "b" (a PUT that keeps
// cron and zone keeps next_run = O). The next round must not enqueue O a second time, on "b".
TEST_F(CronTest, QueueChangeBetweenEnqueueAndRecordStillOneJob) {
  ScheduleSpec spec = Spec("m", "* * * * *");
  spec.job.queue = "a";
  Create(spec, kJan1);
  const int64_t occurrence = kJan1 + 60'000;
  clock_.Set(occurrence + 1'000);

  auto proxy = FaultProxy::Start(Server().port());
  ASSERT_OK(proxy);
  auto faulty = redis::Connection::Open(*redis::Options::FromUrl((*proxy)->url()));
  ASSERT_OK(faulty);
  queue::Broker broker(**faulty, queue::BrokerOptions{}, clock_);
  ScheduleStore store(**faulty, "bananas", clock_);
  scheduler::CronRunner runner(broker, store, clock_);
  const std::string advance_sha =
      redis::Script("schedule_advance", std::string(queue::LuaSource("schedule_advance"))).sha1();
  (*proxy)->InjectError({"EVALSHA", advance_sha, "LOADING Redis is loading the dataset", 1});
  EXPECT_FALSE(runner.RunDue(10).ok());
  ASSERT_EQ((*proxy)->injected(), 1);
  ASSERT_EQ(PendingJobs("a").size(), 1u);

  spec.job.queue = "b";
  ASSERT_OK(store_->Put(spec, kJan1 + 120'000, PutMode::kReplace));
  auto moved = store_->Get("m");
  ASSERT_OK(moved);
  EXPECT_EQ(moved->next_run_unix_ms, occurrence);  // the edit kept the occurrence due

  ASSERT_OK(runner.RunDue(10));
  ASSERT_OK(runner.RunDue(10));
  auto on_a = PendingJobs("a");
  auto on_b = PendingJobs("b");
  EXPECT_EQ(on_a.size() + on_b.size(), 1u) << "occurrence " << occurrence << " enqueued on "
                                           << on_a.size() << " + " << on_b.size() << " queues";
  auto s = store_->Get("m");
  ASSERT_OK(s);
  EXPECT_EQ(s->next_run_unix_ms, occurrence + 60'000);
  EXPECT_EQ(s->run_count, 1);
  // The occurrence after it goes to the new queue.
  clock_.Set(occurrence + 61'000);
  ASSERT_OK(runner.RunDue(10));
  EXPECT_EQ(PendingJobs("b").size(), on_b.size() + 1);
}

// The other crash window: O is claimed, and its enqueue does not happen (refused here, as a
// scheduler dying before it). O must not be lost, whatever changes before the next round:
// neither a move to another queue nor a clock that has since passed the next occurrence
// (missed = skip would not start O then, but O was started).
TEST_F(CronTest, OccurrenceWhoseEnqueueFailedRunsOnceLaterEvenAfterEdits) {
  ScheduleSpec spec = Spec("m", "* * * * *", MissedPolicy::kSkip);
  spec.job.queue = "a";
  Create(spec, kJan1);
  const int64_t occurrence = kJan1 + 60'000;
  clock_.Set(occurrence + 1'000);

  auto proxy = FaultProxy::Start(Server().port());
  ASSERT_OK(proxy);
  auto faulty = redis::Connection::Open(*redis::Options::FromUrl((*proxy)->url()));
  ASSERT_OK(faulty);
  queue::Broker broker(**faulty, queue::BrokerOptions{}, clock_);
  ScheduleStore store(**faulty, "bananas", clock_);
  scheduler::CronRunner runner(broker, store, clock_);
  const std::string enqueue_sha =
      redis::Script("enqueue", std::string(queue::LuaSource("enqueue"))).sha1();
  (*proxy)->InjectError({"EVALSHA", enqueue_sha, "BUSY Redis is busy running a script.", 1});
  EXPECT_FALSE(runner.RunDue(10).ok());
  ASSERT_EQ((*proxy)->injected(), 1);

  spec.job.queue = "b";
  ASSERT_OK(store_->Put(spec, kJan1 + 120'000, PutMode::kReplace));
  clock_.Set(occurrence + 125'000);  // O and O + 1 min are both past now
  ASSERT_OK(runner.RunDue(10));
  ASSERT_OK(runner.RunDue(10));
  std::vector<Job> jobs = PendingJobs("a");
  for (Job& job : PendingJobs("b")) jobs.push_back(std::move(job));
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(OccurrenceOf(jobs[0]), occurrence);
  auto s = store_->Get("m");
  ASSERT_OK(s);
  EXPECT_EQ(s->run_count, 1);
  EXPECT_EQ(s->next_run_unix_ms, kJan1 + 4 * 60'000);
}

// SPEC §5: however many schedulers run, each occurrence is enqueued exactly once. Three
// schedulers, an @every 1s schedule, ten occurrences on the real clock. missed = all, so
// that a round delayed on a loaded machine catches up instead of leaving a designed gap.
TEST_F(CronTest, ThreeSchedulersEnqueueEachOccurrenceExactlyOnce) {
  ScheduleStore store(*conn_, "bananas");  // the real clock
  ScheduleSpec spec = Spec("tick", "@every 1s", MissedPolicy::kAll);
  auto cron = cron::CronSchedule::Parse(spec.cron);
  ASSERT_OK(cron);
  const int64_t first = cron->Next(NowUnixMs());
  ASSERT_OK(store.Put(spec, first, PutMode::kCreate));

  std::vector<std::unique_ptr<scheduler::Scheduler>> schedulers;
  for (int i = 0; i < 3; ++i) {
    scheduler::SchedulerOptions options;
    options.redis_url = Server().url();
    auto s = scheduler::Scheduler::Create(options);
    ASSERT_OK(s);
    ASSERT_OK((*s)->Start());
    schedulers.push_back(std::move(*s));
  }
  constexpr int kOccurrences = 10;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto s = store.Get("tick");
        return s.ok() && s->run_count >= kOccurrences;
      },
      std::chrono::seconds(60)));
  for (auto& s : schedulers) s->Stop();
  int64_t fired = 0;
  for (auto& s : schedulers) {
    s->Wait();
    fired += s->stats().cron_fired;
  }

  auto jobs = PendingJobs();
  auto state = store.Get("tick");
  ASSERT_OK(state);
  ASSERT_GE(jobs.size(), static_cast<size_t>(kOccurrences));
  EXPECT_EQ(static_cast<int64_t>(jobs.size()), state->run_count);
  std::set<int64_t> occurrences;
  for (const Job& job : jobs) {
    EXPECT_TRUE(occurrences.insert(OccurrenceOf(job)).second)
        << "two jobs for occurrence " << OccurrenceOf(job);
  }
  // No gaps: consecutive seconds from the first occurrence.
  int64_t expected = first;
  for (int64_t occurrence : occurrences) {
    EXPECT_EQ(occurrence, expected);
    expected += 1000;
  }
  EXPECT_EQ(state->last_run_unix_ms, *occurrences.rbegin());
  EXPECT_EQ(state->next_run_unix_ms, *occurrences.rbegin() + 1000);
  // Every scheduler's enqueue of an occurrence counts, duplicates included: at least one each.
  EXPECT_GE(fired, static_cast<int64_t>(jobs.size()));
}

// With cron off, a scheduler still promotes delayed jobs (its timer watcher has no wake list
// to block on until a queue exists) and leaves schedules alone.
TEST_F(CronTest, CronOffPromotesButNeverFires) {
  ScheduleStore store(*conn_, "bananas");
  ScheduleSpec spec = Spec("tick", "@every 1s");
  auto cron = cron::CronSchedule::Parse(spec.cron);
  ASSERT_OK(cron);
  ASSERT_OK(store.Put(spec, cron->Next(NowUnixMs()), PutMode::kCreate));
  scheduler::SchedulerOptions options;
  options.redis_url = Server().url();
  options.cron = false;
  auto s = scheduler::Scheduler::Create(options);
  ASSERT_OK(s);
  ASSERT_OK((*s)->Start());

  queue::Broker broker(*conn_, queue::BrokerOptions{});  // the real clock
  JobSpec delayed;
  delayed.name = "later";
  delayed.run_at_unix_ms = NowUnixMs() + 1500;
  auto enqueued = broker.Enqueue(delayed);
  ASSERT_OK(enqueued);
  ASSERT_TRUE(WaitFor([&] {
    auto job = broker.GetJob(enqueued->id);
    return job.ok() && job->state == JobState::kPending;
  }));
  (*s)->Stop();
  (*s)->Wait();
  EXPECT_EQ((*s)->stats().cron_fired, 0);
  EXPECT_EQ((*s)->stats().errors, 0);
  auto state = store.Get("tick");
  ASSERT_OK(state);
  EXPECT_EQ(state->run_count, 0);
}

}  // namespace
}  // namespace bananas::testing
