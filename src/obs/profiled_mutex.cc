#include "obs/profiled_mutex.h"

#include <algorithm>
#include <chrono>

#include "obs/detail/contention.h"

namespace bananas::obs {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void ProfiledMutex::lock() {
  if (mu_.try_lock()) return;
  LockContended();
}

void ProfiledMutex::unlock() {
  if (waiters_.load(std::memory_order_relaxed) == 0) {
    mu_.unlock();
    return;
  }
  UnlockWithWaiters();
}

void ProfiledMutex::LockContended() {
  int64_t start_ns;
  {
    // The start time is read under wait_mu_ so that it orders with hand-offs (see below).
    std::lock_guard<std::mutex> guard(wait_mu_);
    start_ns = NowNs();
    waiters_.fetch_add(1, std::memory_order_relaxed);
    wait_start_sum_ns_ += start_ns;
  }
  mu_.lock();
  int64_t acquired_ns;
  {
    std::lock_guard<std::mutex> guard(wait_mu_);
    acquired_ns = NowNs();
    waiters_.fetch_sub(1, std::memory_order_relaxed);
    // A hand-off after we started re-based our start to its time.
    wait_start_sum_ns_ -= std::max(start_ns, last_handoff_ns_);
  }
  detail::RecordBlockContention(acquired_ns - start_ns);
}

void ProfiledMutex::UnlockWithWaiters() {
  int64_t delay_ns;
  {
    std::lock_guard<std::mutex> guard(wait_mu_);
    int64_t now = NowNs();
    int64_t waiters = waiters_.load(std::memory_order_relaxed);
    delay_ns = waiters * now - wait_start_sum_ns_;
    wait_start_sum_ns_ = waiters * now;
    last_handoff_ns_ = now;
  }
  mu_.unlock();
  // Recorded after releasing, so the stack capture does not lengthen the critical section.
  if (delay_ns > 0) detail::RecordMutexContention(delay_ns);
}

}  // namespace bananas::obs
