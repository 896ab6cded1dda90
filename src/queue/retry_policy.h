// When a failed job runs again: exponential backoff with jitter and a cap. I/O-free.
#pragma once

#include <chrono>
#include <cstdint>

namespace bananas::queue {

struct RetryPolicy {
  // Delay before the first retry; it doubles with every attempt after that.
  std::chrono::milliseconds base{1000};
  // No retry waits longer than this (before jitter is taken off).
  std::chrono::milliseconds cap{std::chrono::minutes(10)};
  // Fraction of the delay drawn at random and taken off, so that jobs that failed together
  // do not retry together. 0.25 means a delay lands in [0.75 d, d].
  double jitter = 0.25;

  // Delay after the run numbered `attempt` (1 = the first run) failed. `random01` is a
  // uniform number in [0, 1).
  std::chrono::milliseconds DelayAfter(int attempt, double random01) const;
};

}  // namespace bananas::queue
