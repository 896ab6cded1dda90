#include "redis/backoff.h"

#include <gtest/gtest.h>

namespace bananas::redis {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, UpperDrawDoublesWithEachFailure) {
  Backoff backoff(milliseconds(50), milliseconds(5000));
  EXPECT_EQ(backoff.Next(0.999999), milliseconds(49));
  EXPECT_EQ(backoff.Next(1.0), milliseconds(100));
  EXPECT_EQ(backoff.Next(1.0), milliseconds(200));
  EXPECT_EQ(backoff.Next(1.0), milliseconds(400));
  EXPECT_EQ(backoff.failures(), 4);
}

TEST(BackoffTest, LowerDrawIsHalfTheBase) {
  Backoff backoff(milliseconds(50), milliseconds(5000));
  EXPECT_EQ(backoff.Next(0.0), milliseconds(25));
  EXPECT_EQ(backoff.Next(0.0), milliseconds(50));
  EXPECT_EQ(backoff.Next(0.0), milliseconds(100));
}

TEST(BackoffTest, CappedAtMax) {
  Backoff backoff(milliseconds(50), milliseconds(1000));
  for (int i = 0; i < 100; ++i) {
    milliseconds wait = backoff.Next(1.0);
    EXPECT_LE(wait, milliseconds(1000));
  }
  EXPECT_EQ(backoff.Next(1.0), milliseconds(1000));
  EXPECT_EQ(backoff.Next(0.0), milliseconds(500));
}

TEST(BackoffTest, ManyFailuresDoNotOverflow) {
  Backoff backoff(milliseconds(1), milliseconds(std::chrono::hours(24)));
  milliseconds wait{};
  for (int i = 0; i < 10'000; ++i) wait = backoff.Next(1.0);
  EXPECT_EQ(wait, milliseconds(std::chrono::hours(24)));
}

TEST(BackoffTest, JitterStaysWithinBounds) {
  Backoff backoff(milliseconds(80), milliseconds(10'000));
  for (int failure = 0; failure < 12; ++failure) {
    int64_t base = std::min<int64_t>(80LL << failure, 10'000);
    for (double draw : {0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999}) {
      Backoff copy = backoff;
      milliseconds wait = copy.Next(draw);
      EXPECT_GE(wait.count(), base / 2) << "failure " << failure << " draw " << draw;
      EXPECT_LE(wait.count(), base) << "failure " << failure << " draw " << draw;
    }
    EXPECT_LE(backoff.Next(0.5).count(), base);
  }
}

TEST(BackoffTest, OutOfRangeDrawsAreClamped) {
  Backoff low(milliseconds(100), milliseconds(1000));
  EXPECT_EQ(low.Next(-3.0), milliseconds(50));
  Backoff high(milliseconds(100), milliseconds(1000));
  EXPECT_EQ(high.Next(7.0), milliseconds(100));
}

TEST(BackoffTest, ResetStartsOver) {
  Backoff backoff(milliseconds(50), milliseconds(5000));
  for (int i = 0; i < 6; ++i) backoff.Next(0.5);
  EXPECT_EQ(backoff.failures(), 6);
  backoff.Reset();
  EXPECT_EQ(backoff.failures(), 0);
  EXPECT_EQ(backoff.Next(1.0), milliseconds(50));
}

TEST(BackoffTest, InitialAboveMaxIsCapped) {
  Backoff backoff(milliseconds(800), milliseconds(300));
  EXPECT_EQ(backoff.Next(1.0), milliseconds(300));
  EXPECT_EQ(backoff.Next(1.0), milliseconds(300));
}

}  // namespace
}  // namespace bananas::redis
