// Capped exponential backoff with full jitter. I/O-free, so it is unit-tested without sockets.
#pragma once

#include <chrono>
#include <cstdint>

namespace bananas::redis {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max);
  // The wait before the next attempt: a uniform draw in [base/2, base], where base doubles
  // with each failure from `initial` up to `max`. `random01` is a uniform number in [0, 1).
  std::chrono::milliseconds Next(double random01);
  void Reset() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  int failures_ = 0;
};

}  // namespace bananas::redis
