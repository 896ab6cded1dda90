#include "base/clock.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "base/duration.h"

namespace bananas {
namespace {

// Redis' clock minus this host's (µs); set by the app from redis/clock_sync.h.
std::atomic<int64_t> clock_offset_us{0};

int64_t ReadTestClockShiftUs() {
  const char* raw = std::getenv("BANANAS_TEST_CLOCK_OFFSET");
  if (raw == nullptr || *raw == '\0') return 0;
  std::string_view text(raw);
  int64_t sign = 1;
  if (text.front() == '+' || text.front() == '-') {
    sign = text.front() == '-' ? -1 : 1;
    text.remove_prefix(1);
  }
  auto shift = ParseDuration(text, "BANANAS_TEST_CLOCK_OFFSET");
  if (!shift) {
    std::fprintf(stderr, "bananas: %s; ignored\n", shift.status().message().c_str());
    return 0;
  }
  return sign * std::chrono::duration_cast<std::chrono::microseconds>(*shift).count();
}

}  // namespace

int64_t TestClockShiftUs() {
  static const int64_t shift_us = ReadTestClockShiftUs();
  return shift_us;
}

int64_t SystemUnixUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() +
         TestClockShiftUs();
}

int64_t NowUnixUs() { return SystemUnixUs() + clock_offset_us.load(std::memory_order_relaxed); }

int64_t NowUnixMs() {
  // Floor division: a negative offset must not round a time up into the next millisecond.
  int64_t us = NowUnixUs();
  return us >= 0 ? us / 1000 : -((-us + 999) / 1000);
}

void SetClockOffsetUs(int64_t offset_us) {
  clock_offset_us.store(offset_us, std::memory_order_relaxed);
}

int64_t ClockOffsetUs() { return clock_offset_us.load(std::memory_order_relaxed); }

namespace {
class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override { return NowUnixMs(); }
};
}  // namespace

const Clock& Clock::System() {
  static const SystemClock clock;
  return clock;
}

}  // namespace bananas
