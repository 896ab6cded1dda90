// When schedules fire across DST changes (America/New_York, 2026): spring forward on
// Sunday March 8 at 02:00 EST (07:00Z) to 03:00 EDT, fall back on Sunday November 1 at
// 02:00 EDT (06:00Z) to 01:00 EST. The expected instants are written out in UTC; the policy
// is cron.h's (and docs/DECISIONS.md, "Cron and DST").
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cron/civil_time.h"
#include "cron/cron.h"
#include "test_util.h"

namespace bananas::testing {
namespace {

using cron::CronSchedule;

// Unix ms of a UTC civil time.
int64_t Utc(int year, int month, int day, int hour, int minute = 0, int second = 0) {
  return cron::SecondsFromCivil(year, month, day, hour, minute, second) * 1000;
}

// The first `n` occurrences strictly after `after`.
std::vector<int64_t> Occurrences(std::string_view expression, std::string_view zone,
                                 int64_t after, int n) {
  auto s = CronSchedule::Parse(expression, zone);
  EXPECT_OK(s);
  std::vector<int64_t> out;
  if (!s.ok()) return out;
  for (int i = 0; i < n; ++i) {
    after = s->Next(after);
    out.push_back(after);
    if (after < 0) break;
  }
  return out;
}

constexpr std::string_view kNewYork = "America/New_York";

TEST(CronDst, SkippedWallTimeRunsAtFirstInstantAfterTheGap) {
  // 02:30 does not exist on March 8: it runs at 03:00 EDT = 07:00Z, once.
  EXPECT_EQ(Occurrences("30 2 * * *", kNewYork, Utc(2026, 3, 7, 0), 3),
            (std::vector<int64_t>{Utc(2026, 3, 7, 7, 30),    // 02:30 EST
                                  Utc(2026, 3, 8, 7, 0),     // gap -> 03:00 EDT
                                  Utc(2026, 3, 9, 6, 30)}));  // 02:30 EDT
  // 02:00 (the gap's start) and 03:00 (its end) both map to 07:00Z; each runs once.
  EXPECT_EQ(Occurrences("0 2 * * *", kNewYork, Utc(2026, 3, 8, 0), 2),
            (std::vector<int64_t>{Utc(2026, 3, 8, 7, 0), Utc(2026, 3, 9, 6, 0)}));
  EXPECT_EQ(Occurrences("0 2,3 * * *", kNewYork, Utc(2026, 3, 8, 0), 2),
            (std::vector<int64_t>{Utc(2026, 3, 8, 7, 0), Utc(2026, 3, 9, 6, 0)}));
}

TEST(CronDst, RepeatedWallTimeRunsOnceAtItsFirstOccurrence) {
  // 01:30 happens twice on November 1 (EDT, then EST): it runs at the first, 05:30Z.
  EXPECT_EQ(Occurrences("30 1 * * *", kNewYork, Utc(2026, 10, 31, 0), 3),
            (std::vector<int64_t>{Utc(2026, 10, 31, 5, 30),  // 01:30 EDT
                                  Utc(2026, 11, 1, 5, 30),   // 01:30 EDT, not 06:30Z
                                  Utc(2026, 11, 2, 6, 30)}));  // 01:30 EST
  // Searching from inside the repeated hour (01:10 EST = 06:10Z) does not find the second.
  EXPECT_EQ(Occurrences("30 1 * * *", kNewYork, Utc(2026, 11, 1, 6, 10), 1),
            (std::vector<int64_t>{Utc(2026, 11, 2, 6, 30)}));
}

TEST(CronDst, HourlyFollowsElapsedTimeAcrossSpringForward) {
  // 00:00 EST, 01:00 EST, 03:00 EDT, 04:00 EDT: an hour apart; 02:00 does not exist.
  std::vector<int64_t> expected = {Utc(2026, 3, 8, 5), Utc(2026, 3, 8, 6), Utc(2026, 3, 8, 7),
                                   Utc(2026, 3, 8, 8)};
  EXPECT_EQ(Occurrences("0 * * * *", kNewYork, Utc(2026, 3, 8, 4), 4), expected);
  EXPECT_EQ(Occurrences("@hourly", kNewYork, Utc(2026, 3, 8, 4), 4), expected);
  // Minute 30 of every hour: 02:30 does not exist, so nothing runs between 06:30Z and 07:30Z.
  EXPECT_EQ(Occurrences("30 * * * *", kNewYork, Utc(2026, 3, 8, 5), 3),
            (std::vector<int64_t>{Utc(2026, 3, 8, 5, 30), Utc(2026, 3, 8, 6, 30),
                                  Utc(2026, 3, 8, 7, 30)}));
}

TEST(CronDst, HourlyFollowsElapsedTimeAcrossFallBack) {
  // 00:00 EDT, 01:00 EDT, 01:00 EST, 02:00 EST, 03:00 EST: every real hour, both 01:00s.
  std::vector<int64_t> expected = {Utc(2026, 11, 1, 4), Utc(2026, 11, 1, 5), Utc(2026, 11, 1, 6),
                                   Utc(2026, 11, 1, 7), Utc(2026, 11, 1, 8)};
  EXPECT_EQ(Occurrences("0 * * * *", kNewYork, Utc(2026, 11, 1, 3), 5), expected);
  EXPECT_EQ(Occurrences("@hourly", kNewYork, Utc(2026, 11, 1, 3), 5), expected);
}

TEST(CronDst, DailyAndEveryAroundBothChanges) {
  // Midnight local: 05:00Z before spring-forward, 04:00Z after.
  EXPECT_EQ(Occurrences("@daily", kNewYork, Utc(2026, 3, 7, 12), 2),
            (std::vector<int64_t>{Utc(2026, 3, 8, 5), Utc(2026, 3, 9, 4)}));
  EXPECT_EQ(Occurrences("@daily", kNewYork, Utc(2026, 10, 31, 12), 2),
            (std::vector<int64_t>{Utc(2026, 11, 1, 4), Utc(2026, 11, 2, 5)}));
  // @every is absolute: one hour apart in UTC whatever the zone does.
  EXPECT_EQ(Occurrences("@every 1h", kNewYork, Utc(2026, 11, 1, 4), 3),
            (std::vector<int64_t>{Utc(2026, 11, 1, 5), Utc(2026, 11, 1, 6), Utc(2026, 11, 1, 7)}));
}

TEST(CronDst, OtherZonesAndUtc) {
  // Europe/Berlin springs forward on 2026-03-29 at 01:00Z (02:00 CET -> 03:00 CEST).
  EXPECT_EQ(Occurrences("30 2 * * *", "Europe/Berlin", Utc(2026, 3, 28, 12), 2),
            (std::vector<int64_t>{Utc(2026, 3, 29, 1), Utc(2026, 3, 30, 0, 30)}));
  // Australia/Sydney (southern hemisphere) falls back on 2026-04-05 at 16:00Z (03:00 AEDT ->
  // 02:00 AEST): 02:30 runs at its first occurrence, AEDT, 15:30Z.
  EXPECT_EQ(Occurrences("30 2 * * *", "Australia/Sydney", Utc(2026, 4, 4, 12), 1),
            (std::vector<int64_t>{Utc(2026, 4, 4, 15, 30)}));
  EXPECT_EQ(Occurrences("0 0 * * *", "UTC", Utc(2026, 3, 8, 4), 1),
            (std::vector<int64_t>{Utc(2026, 3, 9, 0)}));
}

}  // namespace
}  // namespace bananas::testing
