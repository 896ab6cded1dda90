// Worker internals. Entry points, in the order a job meets them:
//   FetchLoop      leases jobs (dequeue.lua) for free slots (concurrency, plus `prefetch`
//                  more while jobs are short); sleeps in BLPOP on the queues' markers when
//                  there is nothing, so an idle worker costs ~0% CPU and a new job is seen
//                  within a round trip.
//   ExecutorLoop   pool threads run the handler with a JobContext.
//   CompleteLoop   writes outcomes: acks batched per queue (ack.lua), failures (fail.lua).
//   HeartbeatLoop  renews leases (extend_lease.lua) every lease/3, notices cancellation
//                  requests and lost leases, enforces deadlines, writes the worker record.
//   Wait           after Stop(): joins the fetcher, gives running jobs shutdown_grace, then
//                  hands the rest back (release.lua) and stops the other loops.
//
// Who decides a job's outcome: exactly one of the executor (handler returned), the
// heartbeat (deadline passed: fails it as timed out) and the shutdown (hands it back). Each
// Execution has an atomic `decided` flag; the first to set it writes the outcome, the others
// do nothing. A handler abandoned that way keeps its thread until it returns; the pool starts
// a replacement thread so concurrency is kept, and the abandoned thread exits afterwards.
//
// All state shared by the threads lives in a shared_ptr<Shared>, so a detached thread stuck
// in a handler never touches freed memory after the Worker is gone.
#include "bananas/worker.h"

#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "base/clock.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "obs/profiled_mutex.h"
#include "obs/profiling.h"
#include "queue/broker.h"
#include "redis/connection.h"
#include "redis/errors.h"
#include "worker/builtins.h"

namespace bananas {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Jobs shorter than this on average are prefetched (WorkerOptions::prefetch): one waiting
// in the run queue behind `concurrency` others is held back from other workers for a few
// milliseconds at most. Longer jobs are leased only for a free executor.
constexpr double kShortJobSeconds = 0.001;

// Short jobs waiting in the run queue are run one after another by the executor that has
// them, until their expected run time (count x the moving average) exceeds this: waking
// another executor costs 50-400 us of latency on a busy 2-core machine and several us of
// CPU, more than a few no-op jobs take.
constexpr double kChainWorkSeconds = 200e-6;

// How long an idle fetcher blocks before it looks again (and renews its idle registrations).
constexpr std::chrono::milliseconds kIdleWait{1000};

// A job running longer than this is a long one: while one runs, nothing is prefetched, and
// when every executor holds one, the jobs waiting in the run queue (prefetched, or handed to
// this worker) go back to their queue for other workers: they could not start soon here.
constexpr std::chrono::milliseconds kLongRun{20};

enum class CancelReason : int { kNone = 0, kCancelled, kTimeout, kLeaseLost, kShutdown };

const char* ReasonText(CancelReason r) {
  switch (r) {
    case CancelReason::kNone: return "";
    case CancelReason::kCancelled: return "cancelled";
    case CancelReason::kTimeout: return "timeout";
    case CancelReason::kLeaseLost: return "lease lost";
    case CancelReason::kShutdown: return "shutdown";
  }
  return "";
}

// At most one line per second: a Redis outage must not flood the log.
void LogRateLimited(const std::string& what) {
  static std::mutex mu;
  static SteadyClock::time_point last{};
  std::lock_guard<std::mutex> lock(mu);
  auto now = SteadyClock::now();
  if (now - last < std::chrono::seconds(1)) return;
  last = now;
  obs::Log(obs::LogLevel::kWarn, "worker error", {{"error", what}});
}

// Recycles the memory of one shared_ptr'd type (allocate_shared: the object and its control
// block in one block): a job's Execution then costs no heap allocation once the worker has
// run as many jobs at once as it will. The free list is process-wide and bounded; blocks
// beyond it go back to the allocator. Blocks are freed by whichever thread drops the last
// reference (the completer, or an abandoned handler's thread), so the list is locked.
template <typename T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <typename U>
  PoolAllocator(const PoolAllocator<U>&) {}  // NOLINT: rebinding, as allocate_shared does

  T* allocate(size_t n) {
    if (n == 1) {
      FreeList& f = List();
      std::lock_guard<std::mutex> lock(f.mu);
      if (!f.blocks.empty()) {
        void* p = f.blocks.back();
        f.blocks.pop_back();
        return static_cast<T*>(p);
      }
    }
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) {
    if (n == 1) {
      FreeList& f = List();
      std::lock_guard<std::mutex> lock(f.mu);
      if (f.blocks.size() < kMaxFree) {
        f.blocks.push_back(p);
        return;
      }
    }
    ::operator delete(p);
  }
  template <typename U>
  bool operator==(const PoolAllocator<U>&) const { return true; }

 private:
  static constexpr size_t kMaxFree = 4096;
  struct FreeList {
    std::mutex mu;
    std::vector<void*> blocks;
  };
  // Never destroyed: a detached thread may free a block during static destruction.
  static FreeList& List() {
    static FreeList* list = new FreeList;
    return *list;
  }
};

// One leased job from lease to outcome.
struct Execution {
  queue::LeasedJob job;
  // Set when an executor starts the job (a prefetched job waits in the run queue without
  // using up its timeout); until then the far future. Read by the heartbeat without mu.
  std::atomic<SteadyClock::rep> deadline_ticks{SteadyClock::time_point::max().time_since_epoch().count()};
  int64_t started_unix_ms = 0;     // guarded by Shared::mu; 0 until started
  size_t active_index = 0;         // guarded by Shared::mu: where it is in Shared::active
  // Set by the executor when the handler starts and when it returns; read by the heartbeat
  // (which reports starts to Redis: a tentative lease then counts as a run) without mu.
  std::atomic<bool> started{false};
  std::atomic<bool> ran{false};
  std::atomic<SteadyClock::rep> run_start_ticks{0};
  // The lease as this worker knows it: valid until (unix ms, moved by every renewal), or
  // known lost (a heartbeat said so). An outcome is retried until written or the lease is
  // known lost; only a stopping worker gives up at the end of the lease it knows.
  std::atomic<int64_t> lease_valid_until_ms{0};
  std::atomic<bool> lease_lost{false};
  std::atomic<int> reason{0};      // CancelReason; the first reason set wins
  std::atomic<bool> decided{false};  // whoever sets it first writes the outcome
  std::atomic<double> progress{0};
  obs::JobSeries* series = nullptr;  // null when the worker records no metrics
  // Written by the executor; atomic because a timed-out job's outcome is written (and
  // logged) while its abandoned handler may still be running.
  std::atomic<double> run_seconds{0};
  std::mutex mu;                   // with cv: wakes SleepFor on cancellation
  std::condition_variable cv;

  SteadyClock::time_point deadline() const {
    return SteadyClock::time_point(SteadyClock::duration(deadline_ticks.load(std::memory_order_relaxed)));
  }
  void set_deadline(SteadyClock::time_point t) {
    deadline_ticks.store(t.time_since_epoch().count(), std::memory_order_relaxed);
  }
  bool Decide() { return !decided.exchange(true); }
  void Cancel(CancelReason r) {
    int expected = 0;
    reason.compare_exchange_strong(expected, static_cast<int>(r));
    std::lock_guard<std::mutex> lock(mu);
    cv.notify_all();
  }
  CancelReason cancel_reason() const { return static_cast<CancelReason>(reason.load()); }
};

// Lives on the executor's stack for one handler call; the executor's shared_ptr keeps the
// Execution alive meanwhile (also when the job's outcome was written without it).
class Context final : public JobContext {
 public:
  explicit Context(Execution& e) : e_(&e) {}
  const std::string& id() const override { return e_->job.id; }
  const std::string& name() const override { return e_->job.name; }
  const std::string& queue() const override { return e_->job.queue; }
  const std::string& payload() const override { return e_->job.payload; }
  Priority priority() const override { return e_->job.priority; }
  int attempt() const override { return e_->job.attempts; }
  int max_retries() const override { return e_->job.max_retries; }
  bool cancelled() const override {
    if (e_->cancel_reason() != CancelReason::kNone) return true;
    if (SteadyClock::now() >= e_->deadline()) {
      e_->Cancel(CancelReason::kTimeout);
      return true;
    }
    return false;
  }
  std::string cancel_reason() const override {
    cancelled();
    return ReasonText(e_->cancel_reason());
  }
  SteadyClock::time_point deadline() const override { return e_->deadline(); }
  bool SleepFor(milliseconds duration) const override {
    auto until = std::min(SteadyClock::now() + duration, e_->deadline());
    std::unique_lock<std::mutex> lock(e_->mu);
    e_->cv.wait_until(lock, until, [&] { return e_->cancel_reason() != CancelReason::kNone; });
    lock.unlock();
    return !cancelled() && SteadyClock::now() >= until;
  }
  void ReportProgress(double fraction, std::string_view) override {
    e_->progress.store(std::clamp(fraction, 0.0, 1.0));
  }

 private:
  Execution* e_;
};

// An outcome on its way to Redis.
struct Outcome {
  std::shared_ptr<Execution> execution;
  bool success = false;
  std::string result;  // success: the result; failure: the error
  bool retryable = true;
  bool cancelled = false;
};

}  // namespace

class Worker::Impl {
 public:
  explicit Impl(WorkerOptions options) : shared_(std::make_shared<Shared>(std::move(options))) {}

  ~Impl() {
    Stop();
    Wait();
  }

  Status Register(std::string_view name, Handler handler) {
    BANANAS_RETURN_IF_ERROR(ValidateJobName(name));
    if (started_) return Status::FailedPrecondition("Register after Start");
    if (!handler) return Status::InvalidArgument("handler for " + std::string(name) + " is empty");
    auto [it, inserted] = shared_->handlers.emplace(std::string(name), std::move(handler));
    if (!inserted) return Status::AlreadyExists("handler " + std::string(name));
    return Status::Ok();
  }

  std::vector<std::string> handler_names() const {
    std::vector<std::string> names;
    for (const auto& [name, h] : shared_->handlers) names.push_back(name);
    return names;
  }

  Status Start() {
    if (started_) return Status::FailedPrecondition("worker already started");
    auto redis_options = redis::Options::FromUrl(shared_->options.redis_url);
    if (!redis_options) return redis_options.status();
    shared_->redis_options = *redis_options;
    shared_->redis_options.metrics = shared_->options.metrics;
    if (shared_->options.metrics != nullptr) {
      std::weak_ptr<Shared> weak = shared_;
      shared_->options.metrics->AddCollector([weak](obs::Exposition& out) {
        if (auto s = weak.lock()) CollectGauges(*s, out);
      });
    }
    started_ = true;
    auto s = shared_;
    fetcher_ = std::thread([s] { FetchLoop(*s); });
    completer_ = std::thread([s] { CompleteLoop(s); });
    heartbeat_ = std::thread([s] { HeartbeatLoop(s); });
    for (int i = 0; i < s->options.concurrency; ++i) SpawnExecutor(s);
    return Status::Ok();
  }

  void Stop() {
    std::lock_guard<obs::ProfiledMutex> lock(shared_->mu);
    shared_->stopping = true;
    shared_->cv.notify_all();
    shared_->slots_cv.notify_all();
  }

  void Wait() {
    if (!started_ || waited_) return;
    {
      std::unique_lock<obs::ProfiledMutex> lock(shared_->mu);
      shared_->cv.wait(lock, [&] { return shared_->stopping; });
    }
    waited_ = true;
    WakeFetcher(*shared_);
    fetcher_.join();  // no new leases from here on
    Shared& s = *shared_;
    {
      // Grace: running jobs may finish and be acked.
      std::unique_lock<obs::ProfiledMutex> lock(s.mu);
      auto grace_end = SteadyClock::now() + s.options.shutdown_grace;
      s.slots_cv.wait_until(lock, grace_end, [&] { return s.active.empty(); });
    }
    HandBack(s);
    {
      std::unique_lock<obs::ProfiledMutex> lock(s.mu);
      // The completer finishes what is queued, then every loop ends.
      s.slots_cv.wait(lock, [&] { return s.active.empty(); });
      s.finished = true;
      s.cv.notify_all();
      s.run_cv.notify_all();
      s.done_cv.notify_all();
    }
    completer_.join();
    heartbeat_.join();
  }

  const std::string& id() const { return shared_->worker_id; }

  WorkerStats stats() const {
    std::lock_guard<obs::ProfiledMutex> lock(shared_->mu);
    WorkerStats st = shared_->stats;
    st.active = static_cast<int>(shared_->active.size());
    return st;
  }

  std::vector<ActiveJob> active_jobs() const {
    std::lock_guard<obs::ProfiledMutex> lock(shared_->mu);
    std::vector<ActiveJob> out;
    for (const auto& e : shared_->active) {
      out.push_back({e->job.id, e->job.name, e->job.queue, e->started_unix_ms, e->progress.load()});
    }
    return out;
  }

 private:
  struct Shared {
    explicit Shared(WorkerOptions o) : options(std::move(o)) {
      char host[256] = {0};
      ::gethostname(host, sizeof host - 1);
      hostname = host;
      std::random_device rd;
      char suffix[9];
      std::snprintf(suffix, sizeof suffix, "%08x", rd());
      worker_id = (options.name.empty() ? hostname + ":" + std::to_string(::getpid())
                                        : options.name) +
                  ":" + suffix;
      broker_options.prefix = options.prefix;
      broker_options.lease_ms = options.lease_timeout.count();
      broker_options.result_ttl_success_ms = options.result_ttl_success.count();
      broker_options.result_ttl_failure_ms = options.result_ttl_failure.count();
      broker_options.max_result_bytes = options.max_result_bytes;
    }

    // Fixed after Start().
    const WorkerOptions options;
    std::unordered_map<std::string, Handler> handlers;
    redis::Options redis_options;
    queue::BrokerOptions broker_options;
    std::string hostname;
    std::string worker_id;
    int64_t started_unix_ms = NowUnixMs();

    // The list the fetcher blocks on besides the markers; Wait() pushes to it.
    std::string WakeKey() const { return options.prefix + ":worker:" + worker_id + ":wake"; }

    // Guarded by mu: a ProfiledMutex, so that contention between the fetcher, the executors
    // and the completer shows in /debug/pprof/mutex and /debug/pprof/block.
    mutable obs::ProfiledMutex mu;
    std::condition_variable_any cv;        // stopping / finished changes
    std::condition_variable_any slots_cv;  // active shrank
    std::condition_variable_any run_cv;    // run_queue grew
    std::condition_variable_any done_cv;   // outcomes grew
    bool stopping = false;
    bool finished = false;
    // Every job under lease here, in no order; each Execution knows its index (AddActive,
    // RemoveActive): no node or key copy per job, as a map would cost.
    std::vector<std::shared_ptr<Execution>> active;
    std::deque<std::shared_ptr<Execution>> run_queue;
    // Swapped out whole by the completer (its emptied vector swapped back in): the
    // capacity is kept, so an outcome costs no allocation here.
    std::vector<Outcome> outcomes;
    WorkerStats stats;
    // Moving average of handler run time (the last ~16 jobs). It starts high, so nothing is
    // prefetched until short jobs have been seen.
    double mean_run_seconds = 1.0;
    // A job has been running longer than kLongRun (the heartbeat thread looks every
    // kLongRun while jobs run): the average says nothing yet about the job that is slow now.
    bool long_running = false;

    // Executors blocked on run_cv, and run_cv notifications not yet taken up by one: a
    // notification goes only to an executor nobody has called yet (WakeExecutor).
    int idle_executors = 0;
    int pending_wakes = 0;

    bool ShortJobs() const { return mean_run_seconds < kShortJobSeconds && !long_running; }

    // How many jobs may be under lease here at once: `concurrency` running, plus `prefetch`
    // waiting in the run queue while jobs are short. REQUIRES: mu held.
    int Capacity() const { return options.concurrency + (ShortJobs() ? options.prefetch : 0); }

    // Wakes one idle executor, unless every idle one has been called already. REQUIRES: mu.
    void WakeExecutor() {
      if (idle_executors <= pending_wakes) return;
      ++pending_wakes;
      run_cv.notify_one();
    }

    // Wakes executors for the run queue. Short jobs: one executor runs them one after
    // another (a wake-up costs more than the jobs), and calls the next one only while the
    // queue holds more than it will get to soon (ExecutorLoop); longer jobs: one executor
    // per job. The heartbeat calls one more if a job in the run queue waits behind a job
    // that turned out long. REQUIRES: mu held.
    void WakeExecutors() {
      if (run_queue.empty()) return;
      if (ShortJobs()) {
        if (pending_wakes == 0) WakeExecutor();
        return;
      }
      for (size_t i = static_cast<size_t>(pending_wakes); i < run_queue.size(); ++i) {
        if (idle_executors <= pending_wakes) return;
        WakeExecutor();
      }
    }
  };

  // Ends the fetcher's BLPOP at once instead of at its timeout. Best effort: if Redis is
  // down the BLPOP has failed already, and the token expires if nobody pops it.
  static void WakeFetcher(const Shared& s) {
    auto connection = OpenConnection(s);
    redis::Pipeline p;
    p.Add(redis::Command("LPUSH").Arg(s.WakeKey()).Arg("stop"));
    p.Add(redis::Command("PEXPIRE").Arg(s.WakeKey()).Arg(int64_t{10'000}));
    auto r = connection->Run(p);
    if (!r) LogRateLimited(r.status().ToString());
  }

  static std::unique_ptr<redis::Connection> OpenConnection(const Shared& s) {
    auto c = redis::Connection::Open(s.redis_options);
    return c ? std::move(*c) : nullptr;  // Open fails only for options Start() checked
  }

  // Leases work for free slots (Shared::Capacity); sleeps on the markers when there is none.
  static void FetchLoop(Shared& s) {
    obs::RegisterThread("worker-fetch");
    auto connection = OpenConnection(s);
    auto blocking = OpenConnection(s);
    queue::Broker broker(*connection, s.broker_options);
    // Hand-off: a worker that serves every type and priority is registered idle by a dequeue
    // that finds nothing, and new jobs are then leased straight to its inbox by the enqueue
    // (enqueue.lua): it starts them without a dequeue round trip. `registered` holds the
    // queues where the last dequeue may have registered it.
    const bool handoff = s.options.job_types.empty() && s.options.priorities.size() == 3;
    std::set<std::string> registered;
    const auto idle_registration = kIdleWait + milliseconds(2000);
    // Takes back the idle registration in `q` and returns what its inbox holds (leased to
    // this worker already). Empty on error, which is logged: the registration then expires.
    auto take_back = [&](const std::string& q) {
      queue::DequeueRequest request;
      request.queue = q;
      request.priorities = s.options.priorities;
      request.handoff_worker = s.worker_id;
      request.leaving = true;
      auto handed = broker.Dequeue(request);
      if (!handed) {
        LogRateLimited(handed.status().ToString());
        return std::vector<queue::LeasedJob>{};
      }
      return std::move(*handed);
    };
    size_t next_queue = 0;
    while (true) {
      if (!registered.empty()) {
        // A worker with no free slot must not stay registered idle anywhere (it got busy by a
        // hand-off, or a round filled its slots before reaching every queue): jobs handed to
        // it would wait unseen. Take the registrations back; what was handed is ours to run.
        bool full;
        {
          std::lock_guard<obs::ProfiledMutex> lock(s.mu);
          full = static_cast<int>(s.active.size()) >= s.Capacity();
        }
        if (full) {
          // What was handed meanwhile would wait behind running jobs: back to the queue, for
          // any worker (uncharged: it never ran).
          for (const std::string& q : registered) {
            std::vector<queue::LeasedJob> handed = take_back(q);
            if (!handed.empty()) ReleaseUnstarted(s, broker, q, handed);
          }
          registered.clear();
        }
      }
      int free_slots;
      {
        std::unique_lock<obs::ProfiledMutex> lock(s.mu);
        s.slots_cv.wait(lock, [&] {
          return s.stopping || static_cast<int>(s.active.size()) < s.Capacity();
        });
        if (s.stopping) break;
        free_slots = s.Capacity() - static_cast<int>(s.active.size());
      }
      bool got_any = false;
      bool failed = false;
      const auto& queues = s.options.queues;
      for (size_t k = 0; k < queues.size() && free_slots > 0; ++k) {
        const std::string& q = queues[(next_queue + k) % queues.size()];
        queue::DequeueRequest request;
        request.queue = q;
        request.max_jobs = std::min(free_slots, s.options.fetch_batch);
        request.job_types = s.options.job_types;
        request.priorities = s.options.priorities;
        // Every lease is tentative (dequeue.lua), even for free executors: a dequeue whose
        // reply is lost (Redis restarted as it answered) leases jobs this worker never sees,
        // and they must not be charged for it (the soak found this, docs/RELIABILITY.md).
        // The heartbeat reports the ones that started; a short job is acked before that.
        if (handoff) {
          request.handoff_worker = s.worker_id;
          request.idle_registration = idle_registration;
          request.may_be_registered = registered.contains(q);
        }
        auto leased = broker.Dequeue(request);
        if (!leased) {
          LogRateLimited(leased.status().ToString());
          failed = true;
          break;
        }
        if (handoff && leased->empty()) {
          registered.insert(q);
        } else {
          registered.erase(q);
        }
        if (leased->empty()) continue;
        got_any = true;
        free_slots -= static_cast<int>(leased->size());
        Dispatch(s, std::move(*leased));
      }
      next_queue = (next_queue + 1) % std::max<size_t>(queues.size(), 1);
      if (got_any) continue;
      if (failed) {
        // Redis is down: wait a little (the connection's own backoff paces reconnects too).
        std::unique_lock<obs::ProfiledMutex> lock(s.mu);
        s.cv.wait_for(lock, milliseconds(200), [&] { return s.stopping; });
        continue;
      }
      // Nothing anywhere: block until a marker token or a handed-off job arrives. The
      // bounded timeout serves Stop(), the rare token consumed by a worker that could not use
      // it, and renews the idle registrations (the next dequeue).
      std::vector<std::string> inboxes(registered.begin(), registered.end());
      std::optional<queue::LeasedJob> handed;
      auto woken = broker.WaitForWork(*blocking, queues, kIdleWait, s.WakeKey(), s.worker_id,
                                      inboxes, &handed);
      if (!woken) LogRateLimited(woken.status().ToString());
      if (handed) {
        std::vector<queue::LeasedJob> one;
        one.push_back(std::move(*handed));
        Dispatch(s, std::move(one));
      }
    }
    // Leaving: take back the idle registrations, and hand back what reached the inboxes. If
    // Redis is unreachable, the registrations expire and inbox jobs come back by lease expiry.
    for (const std::string& q : registered) {
      std::vector<queue::LeasedJob> handed = take_back(q);
      if (handed.empty()) continue;
      std::vector<queue::LeaseRef> refs;
      for (const auto& job : handed) refs.push_back({job.id, job.token});
      auto released = broker.Release(q, refs);
      if (!released) LogRateLimited(released.status().ToString());
    }
  }

  // Hands jobs leased to this worker but never dispatched back to their queue (release.lua:
  // the attempt is given back). If Redis is unreachable their leases expire instead.
  static void ReleaseUnstarted(Shared& s, queue::Broker& broker, const std::string& q,
                               const std::vector<queue::LeasedJob>& jobs) {
    std::vector<queue::LeaseRef> refs;
    for (const auto& job : jobs) refs.push_back({job.id, job.token});
    auto released = broker.Release(q, refs);
    if (!released) {
      LogRateLimited(released.status().ToString());
      return;
    }
    int64_t n = 0;
    for (bool b : *released) n += b ? 1 : 0;
    std::lock_guard<obs::ProfiledMutex> lock(s.mu);
    s.stats.handed_back += n;
  }

  // The worker's gauges, read at scrape time. `worker` labels them: one process may run
  // several workers (a library user's binary).
  static void CollectGauges(const Shared& s, obs::Exposition& out) {
    int64_t active;
    {
      std::lock_guard<obs::ProfiledMutex> lock(s.mu);
      active = static_cast<int64_t>(s.active.size());
    }
    out.Family("bananas_worker_active_jobs", "Jobs this worker holds under lease now.", "gauge");
    out.Sample("bananas_worker_active_jobs", {{"worker", s.worker_id}}, active);
    out.Family("bananas_worker_concurrency", "Jobs this worker runs at most at once.", "gauge");
    out.Sample("bananas_worker_concurrency", {{"worker", s.worker_id}},
               static_cast<int64_t>(s.options.concurrency));
    out.Family("bananas_worker_utilization_ratio",
               "Active jobs / concurrency now; over time: rate(bananas_job_run_time_seconds_sum) "
               "/ bananas_worker_concurrency.",
               "gauge");
    out.Sample("bananas_worker_utilization_ratio", {{"worker", s.worker_id}},
               static_cast<double>(active) / s.options.concurrency);
  }

  // REQUIRES: s.mu held (both).
  static void AddActive(Shared& s, const std::shared_ptr<Execution>& e) {
    e->active_index = s.active.size();
    s.active.push_back(e);
  }
  static void RemoveActive(Shared& s, Execution& e) {
    size_t i = e.active_index;
    if (i >= s.active.size() || s.active[i].get() != &e) return;  // not (or no longer) there
    if (i + 1 != s.active.size()) {
      s.active[i] = std::move(s.active.back());
      s.active[i]->active_index = i;
    }
    s.active.pop_back();
  }

  static void Dispatch(Shared& s, std::vector<queue::LeasedJob> jobs) {
    // Series first, outside mu: a new pair takes the registry's lock once.
    std::vector<obs::JobSeries*> series(jobs.size(), nullptr);
    if (s.options.metrics != nullptr) {
      for (size_t i = 0; i < jobs.size(); ++i) {
        series[i] = &s.options.metrics->Jobs(jobs[i].queue, jobs[i].name);
      }
    }
    std::lock_guard<obs::ProfiledMutex> lock(s.mu);
    for (size_t i = 0; i < jobs.size(); ++i) {
      auto& job = jobs[i];
      auto e = std::allocate_shared<Execution>(PoolAllocator<Execution>());
      e->series = series[i];
      e->job = std::move(job);
      e->lease_valid_until_ms.store(e->job.leased_unix_ms + s.broker_options.lease_ms,
                                    std::memory_order_relaxed);
      AddActive(s, e);
      s.run_queue.push_back(std::move(e));
    }
    s.WakeExecutors();
  }

  static void SpawnExecutor(const std::shared_ptr<Shared>& s) {
    std::thread([s] { ExecutorLoop(s); }).detach();
  }

  // Runs jobs until the worker finishes. Detached: a handler that never returns must not
  // block shutdown; the shared state outlives the Worker through `s`.
  static void ExecutorLoop(std::shared_ptr<Shared> s) {
    obs::RegisterThread("worker-exec");
    std::unique_lock<obs::ProfiledMutex> lock(s->mu);
    while (true) {
      while (!s->finished && s->run_queue.empty()) {
        ++s->idle_executors;
        s->run_cv.wait(lock);
        --s->idle_executors;
        if (s->pending_wakes > 0) --s->pending_wakes;
      }
      if (s->run_queue.empty()) return;  // finished
      std::shared_ptr<Execution> e = std::move(s->run_queue.front());
      s->run_queue.pop_front();
      // More waiting than this thread will reach soon: call another executor. Short jobs
      // are run here one after another unless their expected run time exceeds a wake-up's
      // (kChainWork); a call is already on its way if pending_wakes > 0.
      if (!s->run_queue.empty() && s->pending_wakes == 0 &&
          (!s->ShortJobs() ||
           s->mean_run_seconds * static_cast<double>(s->run_queue.size()) > kChainWorkSeconds)) {
        s->WakeExecutor();
      }
      // The timeout counts from here, not from the lease: a prefetched job may have waited.
      milliseconds timeout =
          e->job.timeout_ms > 0 ? milliseconds(e->job.timeout_ms) : s->options.job_timeout;
      auto start = SteadyClock::now();
      e->set_deadline(start + timeout);
      e->run_start_ticks.store(start.time_since_epoch().count(), std::memory_order_relaxed);
      e->started.store(true, std::memory_order_relaxed);
      e->started_unix_ms = NowUnixMs();
      ++s->stats.started;
      lock.unlock();
      Outcome outcome = Run(*s, e);
      e->ran.store(true, std::memory_order_relaxed);
      if (!e->Decide()) {
        // The heartbeat (timeout: a replacement thread was started) or the shutdown already
        // wrote this job's outcome; this thread is done. Its run time still counts: a job
        // that ran into its timeout is a long one.
        lock.lock();
        s->mean_run_seconds += (e->run_seconds.load(std::memory_order_relaxed) -
                                s->mean_run_seconds) / 16;
        return;
      }
      // The outcome and the next job under one lock. The completer sleeps only on an empty
      // outcome queue, so only the first outcome of a burst needs to wake it.
      lock.lock();
      s->mean_run_seconds += (e->run_seconds.load(std::memory_order_relaxed) -
                              s->mean_run_seconds) / 16;
      bool was_empty = s->outcomes.empty();
      s->outcomes.push_back(std::move(outcome));
      if (was_empty) s->done_cv.notify_one();
    }
  }

  static Outcome Run(const Shared& s, const std::shared_ptr<Execution>& e) {
    Outcome out;
    out.execution = e;
    auto it = s.handlers.find(e->job.name);
    if (it == s.handlers.end()) {
      out.result = "no handler registered for job type \"" + e->job.name + "\" on worker " +
                   s.worker_id;
      return out;
    }
    // A job cancelled, or whose lease was lost, while it waited in the run queue (prefetched)
    // never starts.
    if (CancelReason reason = e->cancel_reason(); reason == CancelReason::kCancelled) {
      out.cancelled = true;
      out.result = "cancelled before it started";
      return out;
    } else if (reason == CancelReason::kLeaseLost) {
      out.result = "lease lost before it started";
      return out;
    }
    Context context(*e);
    // Built only on the paths that use it: a Status is an allocation.
    std::optional<Result<std::string>> returned;
    if (e->series != nullptr) {
      // Ready = the later of enqueue and run_at (a delayed or retried job waited on purpose).
      int64_t ready_us = std::max(e->job.created_unix_ms, e->job.run_at_unix_ms) * 1000;
      e->series->Add(obs::JobEvent::kStarted);
      e->series->pickup_latency.Observe(static_cast<double>(NowUnixUs() - ready_us) / 1e6);
    }
    auto run_start = SteadyClock::now();
    // CPU samples taken while the handler runs carry job_type and queue (pprof -tagfocus).
    obs::ScopedJobLabels labels(e->job.name, e->job.queue);
    try {
      returned.emplace(it->second(context));
    } catch (const std::exception& ex) {
      returned.emplace(Status::Internal(std::string("handler threw: ") + ex.what()));
    } catch (...) {
      returned.emplace(Status::Internal("handler threw a non-std exception"));
    }
    Result<std::string>& result = *returned;
    double run_seconds = std::chrono::duration<double>(SteadyClock::now() - run_start).count();
    e->run_seconds.store(run_seconds, std::memory_order_relaxed);
    if (e->series != nullptr) e->series->run_time.Observe(run_seconds);
    CancelReason reason = e->cancel_reason();
    const int64_t cap = s.broker_options.max_result_bytes;
    if (result.ok() && cap > 0 && result->size() > static_cast<size_t>(cap)) {
      out.result = queue::ResultTooLargeMessage(result->size(), cap);  // Broker::Ack's rule
      out.retryable = false;
    } else if (result.ok()) {
      out.success = true;
      out.result = std::move(*result);
    } else if (reason == CancelReason::kCancelled) {
      out.cancelled = true;
      out.result = "cancelled: " + result.status().message();
    } else if (reason == CancelReason::kTimeout || SteadyClock::now() >= e->deadline()) {
      out.result = TimeoutMessage(s, *e);
    } else {
      out.result = result.status().message();
      out.retryable = !result.status().IsInvalidArgument();
    }
    return out;
  }

  // Writes outcomes: acks batched per queue in one script call each, failures one by one.
  // An outcome that cannot be written because Redis is down is retried until its lease
  // would have expired; after that the recovery sweep owns the job and nothing is written.
  static void CompleteLoop(std::shared_ptr<Shared> sp) {
    Shared& s = *sp;
    obs::RegisterThread("worker-complete");
    auto connection = OpenConnection(s);
    queue::Broker broker(*connection, s.broker_options);
    std::vector<Outcome> pending;
    std::vector<Outcome> retry_later;
    // Kept from batch to batch, like the vectors: a queue's entry is made once.
    std::map<std::string, std::vector<Outcome*>, std::less<>> acks;
    std::vector<Outcome*> fails;
    std::vector<std::shared_ptr<Execution>> done;
    std::vector<queue::Completion> completions;
    while (true) {
      bool stopping;
      {
        std::unique_lock<obs::ProfiledMutex> lock(s.mu);
        if (pending.empty()) {
          s.done_cv.wait(lock, [&] { return s.finished || !s.outcomes.empty(); });
        } else {
          s.done_cv.wait_for(lock, milliseconds(100), [&] { return s.finished; });
        }
        if (s.finished && s.outcomes.empty() && pending.empty()) return;
        if (pending.empty()) {
          pending.swap(s.outcomes);  // s.outcomes keeps pending's (empty) capacity
        } else {
          for (auto& o : s.outcomes) pending.push_back(std::move(o));
          s.outcomes.clear();
        }
        stopping = s.stopping;
      }
      for (auto& [q, batch] : acks) batch.clear();
      fails.clear();
      done.clear();
      retry_later.clear();
      for (auto& o : pending) {
        if (o.success) {
          const std::string& q = o.execution->job.queue;
          auto it = acks.find(q);
          if (it == acks.end()) it = acks.emplace(q, std::vector<Outcome*>()).first;
          it->second.push_back(&o);
        } else {
          fails.push_back(&o);
        }
      }
      int64_t succeeded = 0, failed = 0, lost = 0;
      for (auto& [q, batch] : acks) {
        if (batch.empty()) continue;
        // The id is copied (a Completion owns it; others read job.id meanwhile), the result
        // moved and moved back if it must be written again.
        completions.clear();
        for (Outcome* o : batch) {
          queue::LeasedJob& job = o->execution->job;
          completions.push_back({job.id, job.token, std::move(o->result), std::move(job.record),
                                 job.leased_unix_ms});
        }
        auto r = broker.Ack(q, completions);
        if (!r) {
          LogRateLimited(r.status().ToString());
          for (size_t i = 0; i < batch.size(); ++i) {
            Outcome* o = batch[i];
            o->result = std::move(completions[i].result);
            o->execution->job.record = std::move(completions[i].record);
            KeepOrDrop(stopping, r.status(), std::move(*o), retry_later, done, lost);
          }
          continue;
        }
        for (size_t i = 0; i < batch.size(); ++i) {
          (*r)[i] ? ++succeeded : ++lost;
          Record(*batch[i]->execution, (*r)[i] ? "succeeded" : "lease lost",
                 (*r)[i] ? obs::JobEvent::kSucceeded : std::optional<obs::JobEvent>());
          done.push_back(batch[i]->execution);
        }
      }
      for (Outcome* o : fails) {
        const auto& job = o->execution->job;
        queue::Failure f{job.id, job.token, job.attempts, o->result, o->retryable, o->cancelled};
        auto r = broker.Fail(job.queue, f);
        if (!r) {
          LogRateLimited(r.status().ToString());
          KeepOrDrop(stopping, r.status(), std::move(*o), retry_later, done, lost);
          continue;
        }
        r->kind == queue::FailOutcome::Kind::kLeaseLost ? ++lost : ++failed;
        RecordFailure(*o->execution, r->kind);
        done.push_back(o->execution);
      }
      pending.clear();
      pending.swap(retry_later);
      std::lock_guard<obs::ProfiledMutex> lock(s.mu);
      s.stats.succeeded += succeeded;
      s.stats.failed += failed;
      s.stats.lease_lost += lost;
      for (const auto& e : done) RemoveActive(s, *e);
      if (!done.empty()) s.slots_cv.notify_all();
    }
  }

  // One outcome written: its counter, and at debug level its line.
  static void Record(const Execution& e, std::string_view outcome,
                     std::optional<obs::JobEvent> event) {
    if (e.series != nullptr && event) e.series->Add(*event);
    if (!obs::LogEnabled(obs::LogLevel::kDebug)) return;
    obs::Log(obs::LogLevel::kDebug, "job done",
             {{"job_id", e.job.id},
              {"job_type", e.job.name},
              {"queue", e.job.queue},
              {"attempt", e.job.attempts},
              {"outcome", outcome},
              {"duration_ms", e.run_seconds.load(std::memory_order_relaxed) * 1000}});
  }

  static void RecordFailure(const Execution& e, queue::FailOutcome::Kind kind) {
    using Kind = queue::FailOutcome::Kind;
    switch (kind) {
      case Kind::kRetrying:
        if (e.series != nullptr) e.series->Add(obs::JobEvent::kFailed);
        Record(e, "retrying", obs::JobEvent::kRetried);
        return;
      case Kind::kDead:
        if (e.series != nullptr) e.series->Add(obs::JobEvent::kFailed);
        Record(e, "dead", obs::JobEvent::kDead);
        return;
      case Kind::kCancelled:
        Record(e, "cancelled", obs::JobEvent::kCancelled);
        return;
      case Kind::kLeaseLost:
        Record(e, "lease lost", std::nullopt);
        return;
    }
  }

  // An outcome that could not be written (Redis unreachable, or a transient error reply:
  // redis::IsRetryable) is kept while the lease is ours: the heartbeat keeps renewing the lease of a job whose
  // outcome is pending, so a long job that ends during a short outage is still completed
  // once. Dropped when the heartbeat learns the lease was lost (the recovery sweep owns the
  // job), or, when the worker stops, once the lease it last renewed has run out. A write
  // retried after the lease was recovered changes nothing: the token fences it. A permanent
  // error drops the outcome at once: the lease, no longer renewed, expires and the job is
  // recovered.
  static void KeepOrDrop(bool stopping, const Status& error, Outcome&& o,
                         std::vector<Outcome>& retry_later,
                         std::vector<std::shared_ptr<Execution>>& done, int64_t& lost) {
    const Execution& e = *o.execution;
    bool gone = !redis::IsRetryable(error) || e.lease_lost.load() ||
                (stopping && NowUnixMs() >= e.lease_valid_until_ms.load());
    if (!gone) {
      retry_later.push_back(std::move(o));
    } else {
      ++lost;
      done.push_back(o.execution);
    }
  }

  // Renews leases every lease/3 and enforces deadlines in between.
  static void HeartbeatLoop(std::shared_ptr<Shared> sp) {
    Shared& s = *sp;
    obs::RegisterThread("worker-heartbeat");
    auto connection = OpenConnection(s);
    queue::Broker broker(*connection, s.broker_options);
    const milliseconds beat = std::max(milliseconds(10), s.options.lease_timeout / 3);
    auto next_beat = SteadyClock::now();
    while (true) {
      std::vector<std::shared_ptr<Execution>> snapshot;
      std::vector<std::shared_ptr<Execution>> waiting;  // to hand back: cannot start soon
      {
        std::unique_lock<obs::ProfiledMutex> lock(s.mu);
        auto wake = next_beat;
        bool running = false;
        for (const auto& e : s.active) {
          if (!e->decided && e->deadline() < wake) wake = e->deadline();
          running = running || (e->started && !e->ran);
        }
        // While jobs run, look every kLongRun for long ones (LookForLongRuns).
        if (running) wake = std::min(wake, SteadyClock::now() + kLongRun);
        s.cv.wait_until(lock, wake, [&] { return s.finished; });
        if (s.finished) break;
        for (const auto& e : s.active) snapshot.push_back(e);
        waiting = LookForLongRuns(s);
        // A short job may have turned out long while others wait behind it in the run
        // queue (one executor runs short jobs one after another): call another executor.
        if (s.long_running && !s.run_queue.empty() && s.pending_wakes == 0) s.WakeExecutor();
      }
      if (!waiting.empty()) HandBackWaiting(s, broker, waiting);
      auto now = SteadyClock::now();
      for (const auto& e : snapshot) {
        if (now >= e->deadline() && !e->decided) TimeOut(sp, e);
      }
      if (now < next_beat) continue;
      next_beat = now + beat;
      Beat(s, broker, *connection, snapshot);
    }
    // Leave the workers list at once rather than when the record expires.
    // Best effort: if Redis is down the entry ages out of the list by its score.
    auto removed = connection->Run(
        redis::Command("ZREM").Arg(s.options.prefix + ":workers").Arg(s.worker_id));
    if (!removed) LogRateLimited(removed.status().ToString());
  }

  // Notes whether a job has been running longer than kLongRun (no prefetch while one does),
  // and when every executor holds such a job, takes the run queue's jobs out to be handed
  // back: they could not start here soon, and another worker may be idle. Without this a
  // worker that prefetched while jobs were short would keep long jobs waiting behind each
  // other. REQUIRES: mu held.
  static std::vector<std::shared_ptr<Execution>> LookForLongRuns(Shared& s) {
    auto now = SteadyClock::now();
    int long_runs = 0;
    for (const auto& e : s.active) {
      if (!e->started || e->ran || e->decided) continue;
      auto start = SteadyClock::time_point(SteadyClock::duration(e->run_start_ticks.load()));
      if (now - start >= kLongRun) ++long_runs;
    }
    s.long_running = long_runs > 0;
    std::vector<std::shared_ptr<Execution>> waiting;
    if (long_runs < s.options.concurrency || s.run_queue.empty()) return waiting;
    for (auto& e : s.run_queue) {
      if (e->Decide()) waiting.push_back(e);
    }
    s.run_queue.clear();
    return waiting;
  }

  // Hands back jobs taken out of the run queue (never started): release.lua gives back the
  // attempt. If Redis is unreachable their leases expire and the recovery sweep returns them.
  static void HandBackWaiting(Shared& s, queue::Broker& broker,
                              const std::vector<std::shared_ptr<Execution>>& waiting) {
    std::map<std::string, std::vector<queue::LeaseRef>> by_queue;
    for (const auto& e : waiting) by_queue[e->job.queue].push_back({e->job.id, e->job.token});
    int64_t handed = 0;
    for (auto& [q, refs] : by_queue) {
      auto r = broker.Release(q, refs);
      if (!r) {
        LogRateLimited(r.status().ToString());
        continue;
      }
      for (bool b : *r) handed += b ? 1 : 0;
    }
    std::lock_guard<obs::ProfiledMutex> lock(s.mu);
    s.stats.handed_back += handed;
    for (const auto& e : waiting) RemoveActive(s, *e);
    s.slots_cv.notify_all();
  }

  static std::string TimeoutMessage(const Shared& s, const Execution& e) {
    int64_t ms = e.job.timeout_ms > 0 ? e.job.timeout_ms : s.options.job_timeout.count();
    return "timed out after " + std::to_string(ms) + "ms";
  }

  // A job past its deadline: cancel its context, fail it as timed out now, and give the pool
  // a replacement thread in case the handler never returns.
  static void TimeOut(const std::shared_ptr<Shared>& sp, const std::shared_ptr<Execution>& e) {
    e->Cancel(CancelReason::kTimeout);
    if (!e->Decide()) return;
    Outcome o;
    o.execution = e;
    o.result = TimeoutMessage(*sp, *e);
    bool running;
    {
      std::lock_guard<obs::ProfiledMutex> lock(sp->mu);
      // Still queued (never started) or running: either way its thread, if any, is lost to us.
      running = std::find(sp->run_queue.begin(), sp->run_queue.end(), e) == sp->run_queue.end();
      if (!running) sp->run_queue.erase(std::find(sp->run_queue.begin(), sp->run_queue.end(), e));
      sp->outcomes.push_back(std::move(o));
      sp->done_cv.notify_one();
    }
    if (running) SpawnExecutor(sp);
  }

  static void Beat(Shared& s, queue::Broker& broker, redis::Connection& connection,
                   const std::vector<std::shared_ptr<Execution>>& snapshot) {
    // Every lease held, including jobs whose outcome is decided but not yet written: the
    // lease must outlive a write retried through a Redis outage (KeepOrDrop).
    std::map<std::string, std::vector<std::shared_ptr<Execution>>> by_queue;
    for (const auto& e : snapshot) {
      if (!e->lease_lost) by_queue[e->job.queue].push_back(e);
    }
    for (auto& [q, executions] : by_queue) {
      std::vector<queue::LeaseRef> refs;
      for (const auto& e : executions) refs.push_back({e->job.id, e->job.token, e->started});
      int64_t renewed_at = NowUnixMs();
      auto r = broker.ExtendLeases(q, refs);
      if (!r) {
        LogRateLimited(r.status().ToString());
        continue;
      }
      for (size_t i = 0; i < executions.size(); ++i) {
        Execution& e = *executions[i];
        if ((*r)[i] == queue::LeaseState::kLost) {
          e.lease_lost = true;
          e.Cancel(CancelReason::kLeaseLost);
          continue;
        }
        e.lease_valid_until_ms = renewed_at + s.broker_options.lease_ms;
        if ((*r)[i] == queue::LeaseState::kCancelRequested) e.Cancel(CancelReason::kCancelled);
      }
    }
    // The queues this worker serves stay in the registry, whatever Redis lost: schedulers
    // promote and recover only the queues they know.
    Status asserted = broker.AssertQueues(s.options.queues);
    if (!asserted.ok()) LogRateLimited(asserted.ToString());
    WriteRecord(s, connection, snapshot.size());
  }

  // The worker record behind /api/v1/workers: <p>:workers (ZSET id -> last beat, ms) and
  // <p>:worker:<id> (HASH, expires after three missed beats).
  static void WriteRecord(const Shared& s, redis::Connection& connection, size_t active) {
    std::string queues;
    for (const auto& q : s.options.queues) queues += (queues.empty() ? "" : ",") + q;
    int64_t now = NowUnixMs();
    std::string key = s.options.prefix + ":worker:" + s.worker_id;
    // Three missed beats (a beat is lease/3), and never under 3 s.
    auto ttl = std::max<int64_t>(s.options.lease_timeout.count(), 3000);
    redis::Pipeline p;
    p.Add(redis::Command("ZADD").Arg(s.options.prefix + ":workers").Arg(now).Arg(s.worker_id));
    p.Add(redis::Command("HSET")
              .Arg(key)
              .Arg("host").Arg(s.hostname)
              .Arg("pid").Arg(static_cast<int64_t>(::getpid()))
              .Arg("queues").Arg(queues)
              .Arg("concurrency").Arg(s.options.concurrency)
              .Arg("active").Arg(static_cast<int64_t>(active))
              .Arg("started_at").Arg(s.started_unix_ms)
              .Arg("last_heartbeat").Arg(now));
    p.Add(redis::Command("PEXPIRE").Arg(key).Arg(ttl));
    auto r = connection.Run(p);
    if (!r) LogRateLimited(r.status().ToString());
  }

  // Shutdown: every job still running after the grace period goes back to its queue.
  static void HandBack(Shared& s) {
    std::vector<std::shared_ptr<Execution>> left;
    {
      std::lock_guard<obs::ProfiledMutex> lock(s.mu);
      for (const auto& e : s.active) {
        if (e->Decide()) left.push_back(e);
      }
      // Jobs leased but never started must not start now.
      s.run_queue.clear();
    }
    if (left.empty()) return;
    for (const auto& e : left) e->Cancel(CancelReason::kShutdown);
    auto connection = OpenConnection(s);
    queue::Broker broker(*connection, s.broker_options);
    std::map<std::string, std::vector<queue::LeaseRef>> by_queue;
    for (const auto& e : left) by_queue[e->job.queue].push_back({e->job.id, e->job.token});
    int64_t handed = 0;
    for (auto& [q, refs] : by_queue) {
      auto r = broker.Release(q, refs);
      if (!r) {
        // Redis unreachable: the leases expire and the recovery sweep hands the jobs back.
        LogRateLimited(r.status().ToString());
        continue;
      }
      for (bool b : *r) handed += b ? 1 : 0;
    }
    std::lock_guard<obs::ProfiledMutex> lock(s.mu);
    s.stats.handed_back += handed;
    for (const auto& e : left) RemoveActive(s, *e);
    s.slots_cv.notify_all();
  }

  std::shared_ptr<Shared> shared_;
  bool started_ = false;
  bool waited_ = false;
  std::thread fetcher_;
  std::thread completer_;
  std::thread heartbeat_;
};

Result<std::unique_ptr<Worker>> Worker::Create(const WorkerOptions& options) {
  if (options.concurrency < 1 || options.concurrency > 10'000) {
    return Status::InvalidArgument("concurrency: must be between 1 and 10000");
  }
  if (options.queues.empty()) return Status::InvalidArgument("queues: at least one queue");
  for (const auto& q : options.queues) BANANAS_RETURN_IF_ERROR(ValidateQueueName(q));
  for (const auto& t : options.job_types) BANANAS_RETURN_IF_ERROR(ValidateJobName(t));
  if (options.priorities.empty()) {
    return Status::InvalidArgument("priorities: at least one priority");
  }
  if (options.lease_timeout < milliseconds(30)) {
    return Status::InvalidArgument("lease_timeout: at least 30ms");
  }
  if (options.fetch_batch < 1) return Status::InvalidArgument("fetch_batch: at least 1");
  if (options.prefetch < 0 || options.prefetch > 100'000) {
    return Status::InvalidArgument("prefetch: must be between 0 and 100000");
  }
  auto url = redis::Options::FromUrl(options.redis_url);
  if (!url) return url.status();
  return std::unique_ptr<Worker>(new Worker(std::make_unique<Impl>(options)));
}

Worker::Worker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Worker::~Worker() = default;

Status Worker::Register(std::string_view name, Handler handler) {
  return impl_->Register(name, std::move(handler));
}

Status Worker::RegisterBuiltins() { return worker::RegisterBuiltinHandlers(*this); }

Status Worker::LoadPlugin(const std::string& path) {
  // RTLD_NOW: a missing symbol fails here, with its name, not at the first job.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = ::dlerror();
    return Status::InvalidArgument("WORKER_PLUGINS: cannot load " + path + ": " +
                                   (err ? err : "unknown error"));
  }
  using RegisterFn = int (*)(Worker*);
  auto fn = reinterpret_cast<RegisterFn>(::dlsym(handle, "bananas_register_handlers"));
  if (fn == nullptr) {
    return Status::InvalidArgument("WORKER_PLUGINS: " + path +
                                   " does not export bananas_register_handlers");
  }
  // The handle stays open for the life of the process: handlers point into it.
  int rc = fn(this);
  if (rc != 0) {
    return Status::InvalidArgument("WORKER_PLUGINS: " + path +
                                   ": bananas_register_handlers returned " + std::to_string(rc));
  }
  return Status::Ok();
}

std::vector<std::string> Worker::handler_names() const { return impl_->handler_names(); }
Status Worker::Start() { return impl_->Start(); }
void Worker::Stop() { impl_->Stop(); }
void Worker::Wait() { impl_->Wait(); }
const std::string& Worker::id() const { return impl_->id(); }
WorkerStats Worker::stats() const { return impl_->stats(); }
std::vector<ActiveJob> Worker::active_jobs() const { return impl_->active_jobs(); }

}  // namespace bananas
