// RedisExecutor: the API's bounded pool of Redis threads, so that the HTTP I/O threads never
// wait on Redis.
//
// Why a pool of synchronous threads: src/redis connections are synchronous (DECISIONS.md,
// 2026-11-27). Calling them from the two I/O threads would stall every connection of that
// thread for a round trip, and for a reconnect backoff when Redis is down (/healthz must
// stay 200 then). So each I/O coroutine hands its Redis work to this pool and resumes when
// it is done (Await() in await.h); the I/O threads keep serving.
//
// Entry points:
//   Post(task)          any Redis work: task(&context) on one pool thread.
//   PostSubmit(spec)    one job to enqueue. One batch of submissions is in flight at a time;
//                       every submission that arrives meanwhile joins the next, up to
//                       Options::max_submit_batch, in one Broker::EnqueueBatch call per queue:
//                       one script call and one round trip for many concurrent HTTP requests
//                       (a group commit: batches grow with the load, a lone request goes at
//                       once). Each request still gets its own answer. Tasks and submissions
//                       are not ordered with respect to each other.
//
// Bounds: Options::threads threads, each owning one Connection, Broker and Inspector (never
// shared); at most Options::queue_limit tasks waiting (Post/PostSubmit return false beyond:
// the caller answers 503).
//
// Every posted task is run exactly once, with a null context if the executor stopped first,
// so that every caller is answered.
//
// Thread safety: Post, PostSubmit and queued() from any thread; Stop() once, from the owner.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/job_json.h"
#include "bananas/inspector.h"
#include "bananas/job.h"
#include "bananas/status.h"
#include "base/clock.h"
#include "obs/profiled_mutex.h"
#include "queue/broker.h"
#include "redis/connection.h"

namespace bananas::obs {
class Metrics;
}

namespace bananas::api {

class RedisExecutor {
 public:
  struct Options {
    std::string redis_url;
    queue::BrokerOptions broker;
    int threads = 4;
    size_t queue_limit = 10'000;
    // Submissions merged into one EnqueueBatch. Bounded so that one script call holds Redis
    // for well under a millisecond.
    size_t max_submit_batch = 256;
    // Where the connections record Redis round trips; null: nothing recorded.
    std::shared_ptr<obs::Metrics> metrics;
  };

  // What a task sees: its thread's own connection, broker and inspector.
  struct Context {
    redis::Connection& connection;
    queue::Broker& broker;
    Inspector& inspector;
  };
  // Called once; `context` is null when the executor stopped before running it.
  using Task = std::function<void(Context* context)>;

  struct Submitted {
    Job job;  // as stored (or, for a duplicate, the first job as it is now)
    bool duplicate = false;
  };
  using SubmitDone = std::function<void(Result<Submitted>)>;

  // InvalidArgument for a bad redis_url. Does not need Redis to be up.
  [[nodiscard]] static Result<std::unique_ptr<RedisExecutor>> Start(const Options& options);
  RedisExecutor(const RedisExecutor&) = delete;
  RedisExecutor& operator=(const RedisExecutor&) = delete;
  ~RedisExecutor();  // Stop()s

  // False when queue_limit tasks are waiting or the executor stopped; the task is dropped.
  [[nodiscard]] bool Post(Task task);
  // REQUIRES: spec passed ValidateJobSpec. False as Post.
  [[nodiscard]] bool PostSubmit(JobSpec spec, SubmitDone done);

  // Runs what is queued with a null context, then joins the threads.
  void Stop();
  size_t queued() const;

 private:
  struct Submit {
    std::optional<JobSpec> spec;  // moved out when the batch is built
    SubmitDone done;
  };
  struct Thread;

  explicit RedisExecutor(const Options& options);
  void Loop(Thread& thread);
  void RunSubmits(Thread& thread, std::vector<Submit>& submits);

  const Options options_;
  // A ProfiledMutex: contention between HTTP threads posting and pool threads taking shows
  // in /debug/pprof/mutex and /debug/pprof/block.
  mutable obs::ProfiledMutex mu_;
  std::condition_variable_any work_;
  std::deque<Task> tasks_;      // Guarded by mu_.
  std::deque<Submit> submits_;  // Guarded by mu_.
  // One batch of submissions in flight at a time (group commit): the next batch takes all
  // that arrived meanwhile. Other tasks run on the other threads.
  bool submit_in_flight_ = false;  // Guarded by mu_.
  bool stopping_ = false;          // Guarded by mu_.
  std::vector<std::unique_ptr<Thread>> threads_;
};

}  // namespace bananas::api
