// Fixture for the script tests: one real redis-server per test binary, flushed before each
// test; a Broker on a pinned clock; helpers that read keys back for full-state assertions.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "queue/broker.h"
#include "redis/connection.h"
#include "redis_server.h"
#include "test_util.h"

namespace bananas::testing {

class QueueTest : public ::testing::Test {
 protected:
  static constexpr int64_t kStart = 1'700'000'000'000;  // 2023-11-14, a pinned "now"

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
    conn_ = Connect();
    auto r = conn_->Run(redis::Command("FLUSHALL"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    clock_.Set(kStart);
    options_.lease_ms = 30'000;
    broker_ = std::make_unique<queue::Broker>(*conn_, options_, clock_);
  }

  // A new connection to the test server.
  std::unique_ptr<redis::Connection> Connect() {
    auto options = redis::Options::FromUrl(Server().url());
    EXPECT_TRUE(options.ok());
    auto conn = redis::Connection::Open(*options);
    EXPECT_TRUE(conn.ok());
    return std::move(*conn);
  }

  // Rebuilds the broker after a change of options_.
  void ResetBroker() { broker_ = std::make_unique<queue::Broker>(*conn_, options_, clock_); }

  redis::Reply Cmd(const std::vector<std::string>& args) {
    redis::Command c(args.front());
    for (size_t i = 1; i < args.size(); ++i) c.Arg(args[i]);
    auto r = conn_->Run(c);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : redis::Reply{};
  }
  std::vector<std::string> List(const std::string& key) {
    std::vector<std::string> out;
    for (auto& e : Cmd({"LRANGE", key, "0", "-1"}).elements) out.push_back(e.str);
    return out;
  }
  std::vector<std::string> ZMembers(const std::string& key) {
    std::vector<std::string> out;
    for (auto& e : Cmd({"ZRANGE", key, "0", "-1"}).elements) out.push_back(e.str);
    return out;
  }
  int64_t ZScore(const std::string& key, const std::string& member) {
    auto r = Cmd({"ZSCORE", key, member});
    return r.is_nil() ? -1 : std::stoll(r.str);
  }
  std::string HGet(const std::string& key, const std::string& field) {
    return Cmd({"HGET", key, field}).str;
  }
  int64_t KeyCount() { return Cmd({"DBSIZE"}).integer; }

  // Enqueues one job and returns its id.
  std::string Submit(const std::string& name = "noop", Priority priority = Priority::kNormal,
                     const std::string& queue = "default", int max_retries = 3) {
    JobSpec spec;
    spec.name = name;
    spec.priority = priority;
    spec.queue = queue;
    spec.max_retries = max_retries;
    auto r = broker_->Enqueue(spec);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->id : std::string();
  }

  // Leases exactly one job of `queue`.
  queue::LeasedJob LeaseOne(const std::string& queue = "default") {
    auto r = broker_->Dequeue({queue, 1, {}, {}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r.ok() ? r->size() : 0u, 1u);
    return (r.ok() && !r->empty()) ? r->front() : queue::LeasedJob{};
  }

  // Leases exactly one job of `queue` and reports it started (the heartbeat a worker sends
  // once the job runs): the lease is no longer tentative, so losing it is charged.
  queue::LeasedJob LeaseStarted(const std::string& queue = "default") {
    queue::LeasedJob job = LeaseOne(queue);
    auto kept = broker_->ExtendLeases(queue, {{job.id, job.token, /*started=*/true}});
    EXPECT_TRUE(kept.ok()) << kept.status().ToString();
    return job;
  }

  const queue::Keys& keys() const { return broker_->keys(); }

  // Layout-hiding views (the only place tests learn where a job is stored; the rest ask the
  // Broker), so that tests survive a change of the data model.
  //
  // The job as GetJob returns it; a failed lookup fails the test and gives an empty Job.
  Job Get(const std::string& id) {
    auto job = broker_->GetJob(id);
    EXPECT_TRUE(job.ok()) << id << ": " << job.status().ToString();
    return job.ok() ? std::move(*job) : Job{};
  }
  // The job's state name ("pending", "active", ...), or "notfound".
  std::string State(const std::string& id) {
    auto job = broker_->GetJob(id);
    return job.ok() ? std::string(JobStateName(job->state)) : "notfound";
  }
  // The deadline (unix ms) of the job's lease, -1 when it holds none.
  int64_t LeaseDeadline(const std::string& id, const std::string& queue = "default") {
    auto reply = Cmd({"ZSCORE", keys().Leases(queue), id});
    return reply.is_nil() ? -1 : std::stoll(reply.str);
  }
  // Ids of the jobs under lease, in deadline order.
  std::vector<std::string> LeasedIds(const std::string& queue = "default") {
    return ZMembers(keys().Leases(queue));
  }
  // A pending list's entries (ids, and tombstones), newest first.
  std::vector<std::string> PendingIds(Priority priority, const std::string& queue = "default") {
    return List(keys().Pending(queue, priority));
  }
  // The milliseconds left before a finished (completed or cancelled) job's record expires;
  // -1 when it never expires, -2 when it is not found among finished jobs.
  int64_t FinishedTtl(const std::string& id, const std::string& queue = "default") {
    for (auto& bucket : ZMembers(keys().Buckets(queue))) {
      if (Cmd({"HEXISTS", bucket, id}).integer == 1) return Cmd({"PTTL", bucket}).integer;
    }
    return -2;
  }

  ManualClock clock_{kStart};
  queue::BrokerOptions options_;
  std::unique_ptr<redis::Connection> conn_;
  std::unique_ptr<queue::Broker> broker_;
};

}  // namespace bananas::testing
