// Wall-clock time in unix milliseconds, injectable so that tests can pin "now".
#pragma once

#include <cstdint>

namespace bananas {

// The system clock's unix time in milliseconds.
int64_t NowUnixMs();
// Same, in microseconds.
int64_t NowUnixUs();

// A source of "now" handed to components that stamp or compare times. The default reads the
// system clock; tests pass a fixed or stepped clock. Thread-safe if the function is.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() const = 0;
  static const Clock& System();
};

// A clock tests move by hand. Not thread-safe beyond what an int64 store gives: set it
// before handing it to a concurrent component.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_; }
  void Set(int64_t now_ms) { now_ms_ = now_ms; }
  void Advance(int64_t delta_ms) { now_ms_ += delta_ms; }

 private:
  int64_t now_ms_;
};

}  // namespace bananas
