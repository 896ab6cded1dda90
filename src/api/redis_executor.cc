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

bool RedisExecutor::Push(Item item) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= options_.queue_limit) return false;
    queue_.push_back(std::move(item));
  }
  work_.notify_one();
  return true;
}

bool RedisExecutor::Post(Task task) { return Push(Item{std::move(task), std::nullopt, {}}); }

bool RedisExecutor::PostSubmit(JobSpec spec, SubmitDone done) {
  return Push(Item{{}, std::move(spec), std::move(done)});
}

size_t RedisExecutor::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void RedisExecutor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
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
    std::vector<Item> items;
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      stopping = stopping_;
      if (queue_.empty()) return;  // stopping, and nothing left to answer
      // A run of submissions at the head is taken whole (up to the batch bound); any other
      // task alone. Order among submissions is kept; a task never overtakes a submission
      // posted before it.
      if (queue_.front().spec.has_value()) {
        while (!queue_.empty() && queue_.front().spec.has_value() &&
               items.size() < options_.max_submit_batch) {
          items.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      } else {
        items.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      // More work left: let another thread take it while this one runs.
      if (!queue_.empty()) work_.notify_one();
    }
    if (stopping) {
      for (Item& item : items) {
        if (item.task) {
          item.task(nullptr);
        } else {
          item.done(Status::Unavailable("api: shutting down"));
        }
      }
      continue;
    }
    thread.clock.Set(NowUnixMs());
    if (items.front().task) {
      Context context{*thread.connection, *thread.broker, *thread.inspector};
      items.front().task(&context);
    } else {
      RunSubmits(thread, items);
    }
  }
}

void RedisExecutor::RunSubmits(Thread& thread, std::vector<Item>& items) {
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
      Item& item = items[positions[k]];
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
