#include "api/redis_executor.h"

#include <pthread.h>

#include <map>

namespace bananas::api {

// One pool thread and what it owns. Only the thread itself touches these after Start().
struct RedisExecutor::Thread {
  // Pinned to the system time before every task, so that the 201 answer to a submission can
  // say when the job was created (and whether it is scheduled) without reading it back: the
  // broker stamps the job with exactly this clock.
  ManualClock clock{0};
  std::unique_ptr<redis::Connection> connection;
  std::unique_ptr<queue::Broker> broker;
  std::unique_ptr<Inspector> inspector;
  std::thread thread;
};

RedisExecutor::RedisExecutor(const Options& options) : options_(options) {}

Result<std::unique_ptr<RedisExecutor>> RedisExecutor::Start(const Options& options) {
  auto redis_options = redis::Options::FromUrl(options.redis_url);
  if (!redis_options) return redis_options.status();
  redis_options->metrics = options.metrics;
  std::unique_ptr<RedisExecutor> executor(new RedisExecutor(options));
  InspectorOptions inspector_options;
  inspector_options.redis_url = options.redis_url;
  inspector_options.prefix = options.broker.prefix;
  for (int i = 0; i < std::max(options.threads, 1); ++i) {
    auto thread = std::make_unique<Thread>();
    auto connection = redis::Connection::Open(*redis_options);
    if (!connection) return connection.status();
    thread->connection = std::move(*connection);
    thread->broker =
        std::make_unique<queue::Broker>(*thread->connection, options.broker, thread->clock);
    auto inspector = Inspector::Connect(inspector_options);
    if (!inspector) return inspector.status();
    thread->inspector = std::move(*inspector);
    executor->threads_.push_back(std::move(thread));
  }
  for (auto& thread : executor->threads_) {
    Thread* t = thread.get();
    t->thread = std::thread([e = executor.get(), t] {
      pthread_setname_np(pthread_self(), "api-redis");
      e->Loop(*t);
    });
  }
  return executor;
}

RedisExecutor::~RedisExecutor() { Stop(); }

bool RedisExecutor::Post(Task task) {
  {
    std::lock_guard<obs::ProfiledMutex> lock(mu_);
    if (stopping_ || tasks_.size() + submits_.size() >= options_.queue_limit) return false;
    tasks_.push_back(std::move(task));
  }
  work_.notify_one();
  return true;
}

bool RedisExecutor::PostSubmit(JobSpec spec, SubmitDone done) {
  bool wake;
  {
    std::lock_guard<obs::ProfiledMutex> lock(mu_);
    if (stopping_ || tasks_.size() + submits_.size() >= options_.queue_limit) return false;
    submits_.push_back(Submit{std::move(spec), std::move(done)});
    // While a batch is in flight this one waits for it: no thread could take it, so no
    // thread is woken (that wake-up per request was most of the pool's cost).
    wake = !submit_in_flight_;
  }
  if (wake) work_.notify_one();
  return true;
}

size_t RedisExecutor::queued() const {
  std::lock_guard<obs::ProfiledMutex> lock(mu_);
  return tasks_.size() + submits_.size();
}

void RedisExecutor::Stop() {
  {
    std::lock_guard<obs::ProfiledMutex> lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  work_.notify_all();
  for (auto& thread : threads_) {
    if (thread->thread.joinable()) thread->thread.join();
  }
  threads_.clear();
}

void RedisExecutor::Loop(Thread& thread) {
  while (true) {
    std::vector<Submit> submits;
    Task task;
    bool stopping;
    {
      std::unique_lock<obs::ProfiledMutex> lock(mu_);
      work_.wait(lock, [&] {
        return stopping_ || !tasks_.empty() || (!submits_.empty() && !submit_in_flight_);
      });
      stopping = stopping_;
      if (stopping) {
        // Answer everything left, then leave.
        if (tasks_.empty() && submits_.empty()) return;
      }
      if (!submits_.empty() && (!submit_in_flight_ || stopping)) {
        // Group commit: every submission that arrived while the previous batch was in
        // flight goes into this one (up to the bound).
        while (!submits_.empty() && submits.size() < options_.max_submit_batch) {
          submits.push_back(std::move(submits_.front()));
          submits_.pop_front();
        }
        submit_in_flight_ = true;
      } else {
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      // More work another thread could take now: let it, while this one runs.
      if (!tasks_.empty()) work_.notify_one();
    }
    if (stopping) {
      if (task) task(nullptr);
      for (Submit& s : submits) s.done(Status::Unavailable("api: shutting down"));
    } else if (task) {
      thread.clock.Set(NowUnixMs());
      Context context{*thread.connection, *thread.broker, *thread.inspector};
      task(&context);
    } else {
      thread.clock.Set(NowUnixMs());
      RunSubmits(thread, submits);
    }
    if (!submits.empty()) {
      bool more;
      {
        std::lock_guard<obs::ProfiledMutex> lock(mu_);
        submit_in_flight_ = false;
        more = !submits_.empty();
      }
      if (more) work_.notify_one();
    }
  }
}

void RedisExecutor::RunSubmits(Thread& thread, std::vector<Submit>& items) {
  // One EnqueueBatch per queue: each is one atomic script call, and a failure in one queue
  // then fails only the requests whose jobs it would have written.
  std::map<std::string, std::vector<size_t>> by_queue;
  for (size_t i = 0; i < items.size(); ++i) by_queue[items[i].spec->queue].push_back(i);
  const int64_t now = thread.clock.NowMs();
  for (const auto& [queue, positions] : by_queue) {
    std::vector<JobSpec> specs;
    specs.reserve(positions.size());
    for (size_t i : positions) specs.push_back(std::move(*items[i].spec));
    auto results = thread.broker->EnqueueBatch(specs);
    if (!results) {
      for (size_t i : positions) items[i].done(results.status());
      continue;
    }
    for (size_t k = 0; k < positions.size(); ++k) {
      Submit& item = items[positions[k]];
      queue::EnqueueResult& r = (*results)[k];
      if (!r.duplicate) {
        item.done(Submitted{JobFromSpec(specs[k], r.id, now), false});
        continue;
      }
      // A duplicate answers with the first job as it is now (it may have run already).
      auto first = thread.broker->GetJob(r.id);
      if (!first) {
        item.done(first.status());
      } else {
        item.done(Submitted{std::move(*first), true});
      }
    }
  }
}

}  // namespace bananas::api
