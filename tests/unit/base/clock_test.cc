// The process clock (base/clock.h): the system clock plus the offset to Redis' clock.
#include "base/clock.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace bananas {
namespace {

// Resets the process-wide offset whatever the test does.
class ClockOffsetTest : public ::testing::Test {
 protected:
  void TearDown() override { SetClockOffsetUs(0); }
};

TEST_F(ClockOffsetTest, OffsetIsAddedToEveryNow) {
  ASSERT_EQ(ClockOffsetUs(), 0);
  SetClockOffsetUs(-20'000'000);  // this host runs 20 s ahead of Redis
  EXPECT_EQ(ClockOffsetUs(), -20'000'000);
  int64_t system_ms = SystemUnixUs() / 1000;
  int64_t now_ms = NowUnixMs();
  int64_t clock_ms = Clock::System().NowMs();
  // Generous bounds: only the 20 s matter, not the microseconds between the reads.
  EXPECT_NEAR(static_cast<double>(now_ms - system_ms), -20'000, 1'000);
  EXPECT_NEAR(static_cast<double>(clock_ms - system_ms), -20'000, 1'000);
  EXPECT_NEAR(static_cast<double>(NowUnixUs() / 1000 - system_ms), -20'000, 1'000);
}

TEST_F(ClockOffsetTest, ZeroOffsetIsTheSystemClock) {
  SetClockOffsetUs(0);
  int64_t before = SystemUnixUs() / 1000;
  int64_t now = NowUnixMs();
  int64_t after = SystemUnixUs() / 1000;
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
}

TEST(TestClockShift, UnsetInTests) {
  // Set only by the e2e tests that play a host with a wrong clock.
  ASSERT_EQ(std::getenv("BANANAS_TEST_CLOCK_OFFSET"), nullptr);
  EXPECT_EQ(TestClockShiftUs(), 0);
}

}  // namespace
}  // namespace bananas
