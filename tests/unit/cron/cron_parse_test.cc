// Parsing of cron expressions: every accepted form, and errors that name the field, its
// position and the bad text.
#include <gtest/gtest.h>

#include <string>

#include "cron/cron.h"
#include "test_util.h"

namespace bananas::testing {
namespace {

using cron::CronSchedule;

std::string ErrorOf(std::string_view expression, std::string_view zone = "UTC") {
  auto s = CronSchedule::Parse(expression, zone);
  if (s.ok()) return "OK";
  EXPECT_TRUE(s.status().IsInvalidArgument()) << s.status().ToString();
  return s.status().message();
}

// 2026-01-01T00:00:00Z, a Thursday.
constexpr int64_t kJan1 = 1767225600000;

int64_t NextOf(std::string_view expression, int64_t after, std::string_view zone = "UTC") {
  auto s = CronSchedule::Parse(expression, zone);
  EXPECT_OK(s);
  return s.ok() ? s->Next(after) : -2;
}

TEST(CronParse, ErrorNamesFieldPositionAndText) {
  EXPECT_EQ(ErrorOf("0 0 25 * * *"), "cron: field \"hour\" (3rd): 25 out of range 0-23");
  EXPECT_EQ(ErrorOf("0 25 * * *"), "cron: field \"hour\" (2nd): 25 out of range 0-23");
  EXPECT_EQ(ErrorOf("61 * * * *"), "cron: field \"minute\" (1st): 61 out of range 0-59");
  EXPECT_EQ(ErrorOf("* * 0 * *"), "cron: field \"day-of-month\" (3rd): 0 out of range 1-31");
  EXPECT_EQ(ErrorOf("* * * 13 *"), "cron: field \"month\" (4th): 13 out of range 1-12");
  EXPECT_EQ(ErrorOf("* * * * 8"), "cron: field \"day-of-week\" (5th): 8 out of range 0-7");
  EXPECT_EQ(ErrorOf("* * * FOO *"),
            "cron: field \"month\" (4th): \"FOO\" is not a month (JAN-DEC or 1-12)");
  EXPECT_EQ(ErrorOf("* * * * MOX"),
            "cron: field \"day-of-week\" (5th): \"MOX\" is not a weekday (SUN-SAT or 0-7)");
  EXPECT_EQ(ErrorOf("*/0 * * * *"),
            "cron: field \"minute\" (1st): step 0 in \"*/0\" (must be at least 1)");
  EXPECT_EQ(ErrorOf("5-3 * * * *"),
            "cron: field \"minute\" (1st): range \"5-3\" is backwards (5 > 3)");
  EXPECT_EQ(ErrorOf("1,,2 * * * *"), "cron: field \"minute\" (1st): empty list entry");
  EXPECT_EQ(ErrorOf("x * * * *"), "cron: field \"minute\" (1st): \"x\" is not a number");
  EXPECT_EQ(ErrorOf("? * * * *"),
            "cron: field \"minute\" (1st): \"?\" is only allowed in day-of-month and day-of-week");
}

TEST(CronParse, WrongFieldCountAndDescriptors) {
  EXPECT_EQ(ErrorOf("* * * *"),
            "cron: expected 5 fields (minute hour day-of-month month day-of-week) or 6 (with "
            "seconds first), got 4");
  EXPECT_EQ(ErrorOf(""), "cron: empty expression");
  EXPECT_NE(ErrorOf("@fortnightly").find("unknown descriptor \"@fortnightly\""), std::string::npos);
  EXPECT_NE(ErrorOf("@daily 5").find("takes no fields"), std::string::npos);
  EXPECT_NE(ErrorOf("@every").find("@every takes one duration"), std::string::npos);
  EXPECT_NE(ErrorOf("@every 0s").find("whole seconds from 1s"), std::string::npos);
  EXPECT_NE(ErrorOf("@every 1500ms").find("whole seconds"), std::string::npos);
  EXPECT_NE(ErrorOf("@every soon").find("@every"), std::string::npos);
  EXPECT_NE(ErrorOf("0 0 30 2 *").find("never fires"), std::string::npos);
  EXPECT_NE(ErrorOf("* * * * *", "Mars/Olympus_Mons").find("timezone \"Mars/Olympus_Mons\""),
            std::string::npos);
  EXPECT_NE(ErrorOf("* * * * *", "../etc/passwd").find("not an IANA zone name"),
            std::string::npos);
}

TEST(CronParse, AcceptsEveryDocumentedForm) {
  for (const char* ok :
       {"* * * * *", "*/15 * * * *", "0 9-17/2 * * MON-FRI", "0 0 1,15 * *", "0 0 ? * SUN",
        "0 0 * JAN,jul *", "30 */10 * * * *", "0 0 * * 7", "5/10 * * * *", "@yearly", "@annually",
        "@monthly", "@weekly", "@daily", "@midnight", "@hourly", "@every 10s", "@every 90m",
        "@EVERY 1h", "  0   0  *  * *  "}) {
    EXPECT_EQ(ErrorOf(ok), "OK") << ok;
  }
}

TEST(CronParse, SixFieldsHaveSecondsFirst) {
  EXPECT_EQ(NextOf("*/10 * * * * *", kJan1), kJan1 + 10'000);
  EXPECT_EQ(NextOf("30 * * * * *", kJan1), kJan1 + 30'000);
  EXPECT_EQ(NextOf("* * * * *", kJan1), kJan1 + 60'000);  // 5 fields: second 0
}

TEST(CronParse, NamesStepsRangesAndSunday7) {
  // Thursday 2026-01-01: the next Sunday is the 4th.
  EXPECT_EQ(NextOf("0 0 * * 7", kJan1), kJan1 + 3 * 86'400'000LL);
  EXPECT_EQ(NextOf("0 0 * * SUN", kJan1), kJan1 + 3 * 86'400'000LL);
  EXPECT_EQ(NextOf("0 0 1 MAR *", kJan1), 1772323200000);  // 2026-03-01T00:00Z
  EXPECT_EQ(NextOf("5/20 * * * *", kJan1), kJan1 + 5 * 60'000);
  EXPECT_EQ(NextOf("0 9-17/4 * * *", kJan1), kJan1 + 9 * 3'600'000LL);
}

TEST(CronParse, DayOfMonthAndWeekdayAreOrWhenBothRestricted) {
  // "the 15th, or any Friday": Friday 2026-01-02 comes first.
  EXPECT_EQ(NextOf("0 0 15 * FRI", kJan1), kJan1 + 86'400'000LL);
  // Weekday unrestricted: only the 15th.
  EXPECT_EQ(NextOf("0 0 15 * *", kJan1), kJan1 + 14 * 86'400'000LL);
  // Day-of-month starts with '*' (Vixie: counts as unrestricted): both must match, so the
  // first odd day that is a Friday: the 9th.
  EXPECT_EQ(NextOf("0 0 */2 * FRI", kJan1), kJan1 + 8 * 86'400'000LL);
}

TEST(CronParse, EveryIsAnchoredAtTheEpoch) {
  EXPECT_EQ(NextOf("@every 1s", kJan1 + 1), kJan1 + 1000);
  EXPECT_EQ(NextOf("@every 1s", kJan1), kJan1 + 1000);
  EXPECT_EQ(NextOf("@every 90m", kJan1), kJan1 + 90 * 60'000);
  // Time zones do not move @every.
  EXPECT_EQ(NextOf("@every 1h", kJan1, "America/New_York"), kJan1 + 3'600'000);
}

}  // namespace
}  // namespace bananas::testing
