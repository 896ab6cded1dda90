// The offset arithmetic of redis/clock_sync.h, I/O-free.
#include "redis/clock_sync.h"

#include <gtest/gtest.h>

namespace bananas::redis {
namespace {

TEST(ClockSample, OffsetIsRedisTimeMinusTheMidpointOfTheRoundTrip) {
  // Sent at 1000 µs, answered at 1200 µs: Redis read its clock at about 1100 µs of ours.
  ClockSample s = SampleOf(1'000, 1'200, 0, 5'100);
  EXPECT_EQ(s.offset_us, 4'000);
  EXPECT_EQ(s.round_trip_us, 200);
}

TEST(ClockSample, SecondsAndMicrosecondsCombine) {
  // Redis 20 s behind a host at unix 1,700,000,000 s.
  const int64_t host_us = 1'700'000'000'000'000;
  ClockSample s = SampleOf(host_us, host_us + 100, 1'699'999'980, 50);
  EXPECT_EQ(s.offset_us, -20'000'000);
  EXPECT_EQ(s.round_trip_us, 100);
}

}  // namespace
}  // namespace bananas::redis
