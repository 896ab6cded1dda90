// ProfiledMutex: a drop-in for std::mutex whose contention shows up in /debug/pprof/mutex
// and /debug/pprof/block.
//
// It is a Lockable (lock, try_lock, unlock), so std::lock_guard, std::unique_lock,
// std::scoped_lock and std::condition_variable_any work with it unchanged.
//
// Cost: an uncontended lock is one try_lock and no clock read; an uncontended unlock adds one
// relaxed atomic load. Only contention pays: two steady_clock reads and a small internal lock,
// plus, for a sampled event, a stack capture (a few microseconds) and a hash-table update.
//
// What is recorded, with Go's semantics:
//   block profile  the waiter's stack and how long it waited in lock(); events of at least
//                  the block rate are always kept, shorter ones with probability d/rate and
//                  scaled back up.
//   mutex profile  the stack of the holder whose unlock() ended other threads' waiting, with
//                  the waiting it caused; 1 in `fraction` events kept, scaled by fraction.
//
// Thread safety: as std::mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

namespace bananas::obs {

class ProfiledMutex {
 public:
  ProfiledMutex() = default;
  ProfiledMutex(const ProfiledMutex&) = delete;
  ProfiledMutex& operator=(const ProfiledMutex&) = delete;

  // Out of line on purpose: the profiles drop frames of bananas::obs by name, and a real
  // frame here keeps the caller's frame intact under inlining and tail calls.
  void lock();
  bool try_lock() noexcept { return mu_.try_lock(); }
  void unlock();

 private:
  void LockContended();
  void UnlockWithWaiters();

  std::mutex mu_;
  std::atomic<int> waiters_{0};  // written under wait_mu_, read relaxed by unlock()
  // Guarded by wait_mu_, which is taken only on contended paths. All waiters present at a
  // hand-off are re-based to its time, so each nanosecond of waiting is charged to exactly
  // one unlock: the holder's at that moment.
  std::mutex wait_mu_;
  int64_t wait_start_sum_ns_ = 0;  // sum over current waiters of their (re-based) start
  int64_t last_handoff_ns_ = 0;    // time of the last unlock that found waiters
};

// Go's runtime.SetMutexProfileFraction: on average 1 in `fraction` contended unlocks is
// recorded in the mutex profile; 0 turns recording off; a negative value only reads.
// Returns the previous value. Default 10.
int SetMutexProfileFraction(int fraction);

// Go's runtime.SetBlockProfileRate: a wait of `rate_ns` or more is always recorded in the
// block profile, a shorter one with probability wait/rate_ns; 0 or less turns recording off.
// Returns the previous value. Default 100000 (100 us).
int64_t SetBlockProfileRate(int64_t rate_ns);

}  // namespace bananas::obs
