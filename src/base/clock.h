// Wall-clock time in unix milliseconds, injectable so that tests can pin "now".
//
// Job times are compared across hosts (a worker writes a lease deadline, a scheduler on
// another host decides it expired), so a service's "now" is Redis' clock, not its host's:
// NowUnixMs(), NowUnixUs() and Clock::System() are the system clock plus a process-wide offset
// (Redis' time - this host's), which the app measures against Redis TIME at start and then
// periodically (redis/clock_sync.h) and sets here. Until it is set the offset is 0, so a
// library user or a test that never sets it gets the plain system clock.
#pragma once

#include <cstdint>

namespace bananas {

// The process's "now": the system clock plus ClockOffsetUs(), in unix milliseconds.
int64_t NowUnixMs();
// Same, in microseconds.
int64_t NowUnixUs();

// The system clock itself, uncorrected: for measuring the offset, nothing else.
int64_t SystemUnixUs();

// Tests only: BANANAS_TEST_CLOCK_OFFSET ("+20s", "-1500ms"; read once) shifts what this
// process takes for its system clock, to play a host whose clock is wrong. (libfaketime, the
// usual tool, hangs a binary linked with jemalloc: libfaketime issue #130.) Returns the shift
// in µs, 0 when unset; a value that does not parse is reported on stderr and ignored.
int64_t TestClockShiftUs();

// The correction NowUnixMs/NowUnixUs/Clock::System add to the system clock (µs): Redis'
// clock minus this host's. Thread-safe (one relaxed atomic).
void SetClockOffsetUs(int64_t offset_us);
int64_t ClockOffsetUs();

// A source of "now" handed to components that stamp or compare times. The default reads
// NowUnixMs() (the system clock, corrected as above); tests pass a fixed or stepped clock.
// Thread-safe if the function is.
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
