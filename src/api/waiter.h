// Waiter: the long-poll of GET /api/v1/jobs/{id}/result?wait_ms=N, without polling and
// without holding an HTTP I/O thread.
//
// Design. One thread owns one subscriber connection on which it holds a shard-channel
// subscription (SSUBSCRIBE) per job being waited on, plus one to its own wake channel; and
// one more connection for reads (Broker::Watch, GetJob). For each new wait it
//   1. subscribes to the job's done channel (Broker::JobDoneChannel) and waits for Redis'
//      confirmation, THEN
//   2. marks the job as watched and reads its state (Broker::Watch, watch.lua).
// A job that ends after step 1 is published to a subscription that already listens; one
// that ended before step 2 is seen by step 2. No end is missed (SPEC §4), and nothing polls.
// The wait ends on the job's message (answer 200 with the job), at its deadline (202 with
// the job as it is then) or when the subscriber connection fails (the job is read once more:
// 200 if it ended, else 202; the client asks again).
//
// Waking the thread. It blocks reading its subscriber connection, so a new wait is announced
// by a message on its wake channel, published through the RedisExecutor (`wake`, given at
// Start). Add() publishes at most once until the thread has taken the inbox. Rejected
// alternatives: a short read timeout to look at the inbox (a poll, with its latency), a
// thread and a connection per wait (unbounded threads, or a small cap on waits), async RESP
// on the I/O threads (src/redis is the only RESP speaker and it is synchronous).
//
// Bounds: at most Options::max_waits waits at once (Add returns false beyond: 503); one
// thread, two connections. A read of the subscriber blocks at most kMaxBlock, which bounds
// Stop()'s latency even when Redis does not answer.
//
// Note: shard channels live on the node owning the job's slot; with Redis Cluster this
// needs one subscriber per node. One Redis today.
//
// Thread safety: Add() and active() from any thread; Stop() once, from the owner.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bananas/job.h"
#include "bananas/status.h"
#include "queue/broker.h"
#include "redis/connection.h"

namespace bananas::api {

class Waiter {
 public:
  struct Options {
    std::string redis_url;
    queue::BrokerOptions broker;
    size_t max_waits = 1000;
    // A shard channel only this Waiter subscribes to.
    std::string wake_channel;
  };
  struct Outcome {
    Job job;
    bool terminal = false;  // completed, failed or cancelled
  };
  // Called exactly once per Add()ed wait, on the Waiter's thread: NotFound for an unknown
  // job, Unavailable when Redis failed or the Waiter stopped.
  using Done = std::function<void(Result<Outcome>)>;
  // Makes one message arrive on wake_channel soon (SPUBLISH from another connection).
  using Wake = std::function<void()>;

  static constexpr std::chrono::milliseconds kMaxBlock{1000};

  [[nodiscard]] static Result<std::unique_ptr<Waiter>> Start(const Options& options, Wake wake);
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;
  ~Waiter();  // Stop()s

  // REQUIRES: `id` is a well-formed job id. False when max_waits waits are running or the
  // Waiter stopped (`done` is then not called).
  [[nodiscard]] bool Add(std::string id, std::chrono::steady_clock::time_point deadline, Done done);
  // Ends every wait with Unavailable and joins the thread.
  void Stop();
  size_t active() const;

 private:
  using SteadyClock = std::chrono::steady_clock;
  struct Wait {
    std::string id;
    SteadyClock::time_point deadline;
    Done done;
  };

  Waiter(const Options& options, Wake wake);
  void Loop();
  // Steps 1 and 2 above for one new wait.
  void Begin(Wait wait);
  [[nodiscard]] Status Subscribe(const std::string& channel);
  void Unsubscribe(const std::string& channel);
  // A message or confirmation read from the subscriber.
  void Dispatch(const redis::Reply& reply);
  // Reads the job and ends every wait on `channel`.
  void Finish(const std::string& channel);
  // Answers one wait from a fresh read of its job; false when Redis did not answer.
  bool FinishOne(Wait& wait);
  void FinishAll(std::vector<Wait>& waits);
  void ExpireDue();
  // The subscriber failed: every subscription is gone; each wait is answered with the job as
  // it is now.
  void Reset();
  void Complete(Wait& wait, Result<Outcome> outcome);

  const Options options_;
  const Wake wake_;

  mutable std::mutex mu_;
  std::vector<Wait> inbox_;          // Guarded by mu_.
  size_t count_ = 0;                 // Guarded by mu_: waits in inbox_ and in waits_.
  bool wake_requested_ = false;      // Guarded by mu_.
  bool stopping_ = false;            // Guarded by mu_.
  std::condition_variable stop_cv_;  // signalled with stopping_

  // Only on thread_.
  std::unique_ptr<redis::Connection> subscriber_;
  std::unique_ptr<redis::Connection> reader_connection_;
  std::unique_ptr<queue::Broker> reader_;
  std::map<std::string, std::vector<Wait>> waits_;  // done channel -> waits on that job
  bool wake_subscribed_ = false;

  std::thread thread_;
};

}  // namespace bananas::api
