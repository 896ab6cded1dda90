#include "api/waiter.h"

#include <pthread.h>

#include <algorithm>

namespace bananas::api {
namespace {

bool IsTerminal(JobState state) {
  return state == JobState::kCompleted || state == JobState::kFailed ||
         state == JobState::kCancelled;
}

// ["ssubscribe", channel, count]: Redis confirms a subscription.
bool IsConfirmation(const redis::Reply& reply, std::string_view kind, std::string_view channel) {
  return reply.is_array() && reply.elements.size() == 3 && reply.elements[0].str == kind &&
         reply.elements[1].str == channel;
}

}  // namespace

Waiter::Waiter(const Options& options, Wake wake) : options_(options), wake_(std::move(wake)) {}

Result<std::unique_ptr<Waiter>> Waiter::Start(const Options& options, Wake wake) {
  auto redis_options = redis::Options::FromUrl(options.redis_url);
  if (!redis_options) return redis_options.status();
  // A reconnect backoff longer than kMaxBlock would hold Stop() up while Redis is down.
  redis_options->reconnect_max = std::min(redis_options->reconnect_max, kMaxBlock);
  std::unique_ptr<Waiter> waiter(new Waiter(options, std::move(wake)));
  auto subscriber = redis::Connection::Open(*redis_options);
  if (!subscriber) return subscriber.status();
  waiter->subscriber_ = std::move(*subscriber);
  auto reader = redis::Connection::Open(*redis_options);
  if (!reader) return reader.status();
  waiter->reader_connection_ = std::move(*reader);
  waiter->reader_ = std::make_unique<queue::Broker>(*waiter->reader_connection_, options.broker);
  waiter->thread_ = std::thread([w = waiter.get()] {
    pthread_setname_np(pthread_self(), "api-waiter");
    w->Loop();
  });
  return waiter;
}

Waiter::~Waiter() { Stop(); }

bool Waiter::Add(std::string id, SteadyClock::time_point deadline, Done done) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || count_ >= options_.max_waits) return false;
    inbox_.push_back(Wait{std::move(id), deadline, std::move(done)});
    ++count_;
    wake = !wake_requested_;
    wake_requested_ = true;
  }
  if (wake) wake_();
  return true;
}

void Waiter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      if (!thread_.joinable()) return;
    }
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (!thread_.joinable()) return;
  wake_();
  thread_.join();
}

size_t Waiter::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return count_;
}

void Waiter::Complete(Wait& wait, Result<Outcome> outcome) {
  Done done = std::move(wait.done);
  done(std::move(outcome));
  std::lock_guard<std::mutex> lock(mu_);
  --count_;
}

void Waiter::Loop() {
  while (true) {
    std::vector<Wait> fresh;
    bool stopping;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping = stopping_;
      fresh.swap(inbox_);
      wake_requested_ = false;
    }
    if (stopping) {
      const Status gone = Status::Unavailable("api: shutting down");
      for (Wait& w : fresh) Complete(w, gone);
      for (auto& [channel, waits] : waits_) {
        for (Wait& w : waits) Complete(w, gone);
      }
      waits_.clear();
      return;
    }
    if (!wake_subscribed_) {
      Status subscribed = Subscribe(options_.wake_channel);
      if (!subscribed.ok()) {
        // Redis is down (or refuses SSUBSCRIBE): answer new waits now rather than leave them
        // unwatched. The next Subscribe reconnects at the connection's backoff pace; an
        // error reply would not pace anything, so wait here (Stop ends this early).
        Reset();
        FinishAll(fresh);
        if (!subscribed.IsUnavailable()) {
          std::unique_lock<std::mutex> lock(mu_);
          stop_cv_.wait_for(lock, kMaxBlock, [&] { return stopping_; });
        }
        continue;
      }
      wake_subscribed_ = true;
    }
    for (Wait& w : fresh) Begin(std::move(w));
    ExpireDue();
    if (!wake_subscribed_) continue;  // a failure above: resubscribe first

    auto now = SteadyClock::now();
    auto until = now + kMaxBlock;
    for (const auto& [channel, waits] : waits_) {
      for (const Wait& w : waits) until = std::min(until, w.deadline);
    }
    auto timeout = std::chrono::ceil<std::chrono::milliseconds>(until - now);
    auto reply = subscriber_->ReadPush(std::max(timeout, std::chrono::milliseconds(0)));
    if (reply) {
      Dispatch(*reply);
    } else if (reply.status().IsUnavailable()) {
      Reset();
    }
    // DeadlineExceeded: a deadline is due, or kMaxBlock passed; the loop handles both.
  }
}

Status Waiter::Subscribe(const std::string& channel) {
  auto deadline = SteadyClock::now() + subscriber_->options().io_timeout;
  auto reply = subscriber_->Run(redis::Command("SSUBSCRIBE").Arg(channel));
  while (true) {
    if (!reply) {
      if (reply.status().code() == Status::Code::kDeadlineExceeded) {
        // Unknown whether the subscription took: a late confirmation is ignored and a
        // message on a channel nobody waits on is dropped.
        return Status::Unavailable("waiter: no confirmation of SSUBSCRIBE " + channel);
      }
      return reply.status().WithContext("waiter.Subscribe");
    }
    if (reply->is_error()) return Status::Internal("waiter: SSUBSCRIBE: " + reply->str);
    if (IsConfirmation(*reply, "ssubscribe", channel)) return Status::Ok();
    // A message that was already on its way for another job.
    Dispatch(*reply);
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now());
    reply = subscriber_->ReadPush(std::max(left, std::chrono::milliseconds(0)));
  }
}

void Waiter::Unsubscribe(const std::string& channel) {
  auto reply = subscriber_->Run(redis::Command("SUNSUBSCRIBE").Arg(channel));
  if (!reply) {
    if (reply.status().IsUnavailable()) Reset();
    return;
  }
  // The confirmation, or a message that came first (its confirmation is read later and
  // ignored).
  Dispatch(*reply);
}

void Waiter::Dispatch(const redis::Reply& reply) {
  // ["smessage", channel, payload]; confirmations need nothing.
  if (!reply.is_array() || reply.elements.size() != 3 || reply.elements[0].str != "smessage") {
    return;
  }
  const std::string& channel = reply.elements[1].str;
  if (channel == options_.wake_channel) return;  // the loop takes the inbox next
  Finish(channel);
}

void Waiter::Begin(Wait wait) {
  std::string channel = reader_->JobDoneChannel(wait.id);
  if (channel.empty()) {
    Complete(wait, Status::NotFound("job " + wait.id + ": not a job id"));
    return;
  }
  if (!waits_.contains(channel)) {
    Status subscribed = Subscribe(channel);
    if (!subscribed.ok()) {
      // Unwatched, so answer with the job as it is now.
      FinishOne(wait);
      if (subscribed.IsUnavailable()) Reset();
      return;
    }
  }
  // Subscribed: only now look at the job (see the header).
  auto state = reader_->Watch(wait.id);
  if (!state || IsTerminal(*state) || wait.deadline <= SteadyClock::now()) {
    if (!state) {
      Complete(wait, state.status());
    } else {
      FinishOne(wait);
    }
    if (!waits_.contains(channel)) Unsubscribe(channel);
    return;
  }
  waits_[channel].push_back(std::move(wait));
}

bool Waiter::FinishOne(Wait& wait) {
  auto job = reader_->GetJob(wait.id);
  if (!job) {
    Complete(wait, job.status());
    return !job.status().IsUnavailable();
  }
  bool terminal = IsTerminal(job->state);
  Complete(wait, Outcome{std::move(*job), terminal});
  return true;
}

void Waiter::FinishAll(std::vector<Wait>& waits) {
  // Once Redis is found unreachable, the rest are answered at once: each read would wait for
  // the connection's reconnect backoff.
  Status down;
  for (Wait& w : waits) {
    if (!down.ok()) {
      Complete(w, down);
    } else if (!FinishOne(w)) {
      down = Status::Unavailable("waiter: Redis unreachable");
    }
  }
}

void Waiter::Finish(const std::string& channel) {
  auto it = waits_.find(channel);
  if (it == waits_.end()) return;  // a late message: nobody waits any more
  std::vector<Wait> waits = std::move(it->second);
  waits_.erase(it);
  FinishAll(waits);
  Unsubscribe(channel);
}

void Waiter::ExpireDue() {
  auto now = SteadyClock::now();
  std::vector<Wait> due;
  std::vector<std::string> emptied;
  for (auto it = waits_.begin(); it != waits_.end();) {
    auto& waits = it->second;
    auto split =
        std::partition(waits.begin(), waits.end(), [&](const Wait& w) { return w.deadline > now; });
    for (auto w = split; w != waits.end(); ++w) due.push_back(std::move(*w));
    waits.erase(split, waits.end());
    if (waits.empty()) {
      emptied.push_back(it->first);
      it = waits_.erase(it);
    } else {
      ++it;
    }
  }
  // Only now, with waits_ no longer walked: these calls can dispatch messages.
  FinishAll(due);
  for (const std::string& channel : emptied) Unsubscribe(channel);
}

void Waiter::Reset() {
  wake_subscribed_ = false;
  std::vector<Wait> all;
  for (auto& [channel, list] : waits_) {
    for (Wait& w : list) all.push_back(std::move(w));
  }
  waits_.clear();
  FinishAll(all);
}

}  // namespace bananas::api
