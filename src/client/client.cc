#include "bananas/client.h"

#include <mutex>

#include "base/clock.h"
#include "queue/broker.h"
#include "redis/connection.h"

namespace bananas {

class Client::Impl {
 public:
  Impl(std::unique_ptr<redis::Connection> connection, const ClientOptions& options)
      : connection_(std::move(connection)),
        broker_(*connection_, BrokerOptionsFrom(options)),
        redis_options_(connection_->options()) {}

  Result<std::vector<Submitted>> SubmitBatch(const std::vector<JobSpec>& specs) {
    std::lock_guard<std::mutex> lock(mu_);
    auto results = broker_.EnqueueBatch(specs);
    if (!results) return results.status();
    std::vector<Submitted> out;
    out.reserve(results->size());
    for (auto& r : *results) out.push_back({std::move(r.id), r.duplicate});
    return out;
  }

  Result<Job> Get(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    return broker_.GetJob(id);
  }

  Result<CancelResult> Cancel(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto r = broker_.Cancel(id);
    if (!r) return r.status();
    switch (*r) {
      case queue::CancelOutcome::kCancelled: return CancelResult::kCancelled;
      case queue::CancelOutcome::kRequested: return CancelResult::kRequested;
      case queue::CancelOutcome::kTerminal: return CancelResult::kAlreadyFinished;
      case queue::CancelOutcome::kNotFound: return CancelResult::kNotFound;
    }
    return Status::Internal("client.Cancel: unknown outcome");
  }

  // Subscribes to the job's done channel on a connection of its own, then marks the job as
  // watched and reads its state: a terminal state now, or a message later. Nothing polls.
  Result<Job> Wait(const std::string& id, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string channel = broker_.JobDoneChannel(id);
    if (channel.empty()) return Status::NotFound("job " + id + ": not a job id");
    auto opened = redis::Connection::Open(redis_options_);
    if (!opened) return opened.status();
    std::unique_ptr<redis::Connection> subscriber = std::move(*opened);
    auto subscribed = subscriber->Run(redis::Command("SSUBSCRIBE").Arg(channel));
    if (!subscribed) return subscribed.status().WithContext("client.Wait");
    if (subscribed->is_error()) return Status::Internal("client.Wait: " + subscribed->str);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto state = broker_.Watch(id);
      if (!state) return state.status();
      if (IsTerminal(*state)) return broker_.GetJob(id);
    }
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Status::DeadlineExceeded("job " + id + ": still running");
      auto message = subscriber->ReadPush(left);
      if (!message) {
        if (message.status().code() == Status::Code::kDeadlineExceeded) {
          return Status::DeadlineExceeded("job " + id + ": still running");
        }
        return message.status();
      }
      // ["smessage", channel, state]
      if (message->is_array() && message->elements.size() == 3 &&
          message->elements[0].str == "smessage") {
        std::lock_guard<std::mutex> lock(mu_);
        return broker_.GetJob(id);
      }
    }
  }

 private:
  static queue::BrokerOptions BrokerOptionsFrom(const ClientOptions& options) {
    queue::BrokerOptions b;
    b.prefix = options.prefix;
    b.result_ttl_failure_ms = options.result_ttl_failure.count();
    return b;
  }
  static bool IsTerminal(JobState s) {
    return s == JobState::kCompleted || s == JobState::kFailed || s == JobState::kCancelled;
  }

  std::mutex mu_;
  std::unique_ptr<redis::Connection> connection_;  // Guarded by mu_ (with broker_).
  queue::Broker broker_;                           // Guarded by mu_.
  const redis::Options redis_options_;
};

Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  auto redis_options = redis::Options::FromUrl(options.redis_url);
  if (!redis_options) return redis_options.status();
  auto connection = redis::Connection::Open(*redis_options);
  if (!connection) return connection.status();
  return std::unique_ptr<Client>(
      new Client(std::make_unique<Impl>(std::move(*connection), options)));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<Submitted> Client::Submit(const JobSpec& spec) {
  auto r = impl_->SubmitBatch({spec});
  if (!r) return r.status();
  return std::move(r->front());
}

Result<std::vector<Submitted>> Client::SubmitBatch(const std::vector<JobSpec>& specs) {
  return impl_->SubmitBatch(specs);
}

Result<Job> Client::Get(const std::string& id) { return impl_->Get(id); }

Result<Job> Client::Wait(const std::string& id, std::chrono::milliseconds timeout) {
  return impl_->Wait(id, timeout);
}

Result<CancelResult> Client::Cancel(const std::string& id) { return impl_->Cancel(id); }

}  // namespace bananas
