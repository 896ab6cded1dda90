#include "bench/delivery.h"

#include <algorithm>

namespace bananas::bench {

Delivery& Delivery::operator+=(const Delivery& other) {
  submitted += other.submitted;
  completed += other.completed;
  lost += other.lost;
  duplicates += other.duplicates;
  unexpected += other.unexpected;
  return *this;
}

void RunTracker::Expect(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  expected_.push_back(id);
}

void RunTracker::Record(const std::string& id, int64_t now_unix_us,
                        std::optional<int64_t> sample_us) {
  std::lock_guard<std::mutex> lock(mu_);
  ++counts_[id];
  if (runs_ == 0) first_unix_us_ = now_unix_us;
  first_unix_us_ = std::min(first_unix_us_, now_unix_us);
  last_unix_us_ = std::max(last_unix_us_, now_unix_us);
  ++runs_;
  if (sample_us) samples_us_.push_back(*sample_us);
  changed_.notify_all();
}

bool RunTracker::WaitForRuns(int64_t runs, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return runs_ >= runs; });
}

int64_t RunTracker::runs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return runs_;
}

int64_t RunTracker::first_run_unix_us() const {
  std::lock_guard<std::mutex> lock(mu_);
  return first_unix_us_;
}

int64_t RunTracker::last_run_unix_us() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_unix_us_;
}

std::vector<int64_t> RunTracker::samples_us() const {
  std::lock_guard<std::mutex> lock(mu_);
  return samples_us_;
}

std::vector<std::string> RunTracker::expected_ids() const {
  std::lock_guard<std::mutex> lock(mu_);
  return expected_;
}

Delivery RunTracker::Check(const std::vector<bool>& completed_in_redis) const {
  std::lock_guard<std::mutex> lock(mu_);
  Delivery delivery;
  delivery.submitted = static_cast<int64_t>(expected_.size());
  std::unordered_map<std::string, int64_t> unseen = counts_;
  for (size_t i = 0; i < expected_.size(); ++i) {
    auto it = unseen.find(expected_[i]);
    const int64_t runs = it == unseen.end() ? 0 : it->second;
    if (it != unseen.end()) unseen.erase(it);
    const bool done_in_redis = i < completed_in_redis.size() && completed_in_redis[i];
    if (runs == 0 || !done_in_redis) {
      ++delivery.lost;
    } else {
      ++delivery.completed;
    }
    if (runs > 1) delivery.duplicates += runs - 1;
  }
  for (const auto& [id, runs] : unseen) delivery.unexpected += runs;
  return delivery;
}

}  // namespace bananas::bench
