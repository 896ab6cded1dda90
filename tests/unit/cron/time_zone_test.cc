// The TZif reader: offsets of real zones from /usr/share/zoneinfo, the footer rule past the
// table's end, and refusal of bad names and bad files.
#include <gtest/gtest.h>

#include <string>

#include "cron/civil_time.h"
#include "cron/time_zone.h"
#include "test_util.h"

namespace bananas::testing {
namespace {

using cron::TimeZone;

int64_t UtcSeconds(int year, int month, int day, int hour, int minute = 0) {
  return cron::SecondsFromCivil(year, month, day, hour, minute);
}

void Put32(std::string& out, int64_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

// A v2 TZif file with no transitions and one type (EST), plus `footer`.
std::string MinimalTzif(const std::string& footer) {
  std::string out;
  for (int block = 0; block < 2; ++block) {
    out += "TZif2";
    out += std::string(15, '\0');
    for (int64_t count : {0, 0, 0, 0, 1, 4}) Put32(out, count);  // ... timecnt 0, typecnt 1
    Put32(out, -18000);
    out += '\0';
    out += '\0';
    out += std::string("EST\0", 4);
  }
  return out + "\n" + footer + "\n";
}

TEST(TimeZoneTzif, NewYorkOffsetsAround2026Changes) {
  auto ny = TimeZone::Load("America/New_York");
  ASSERT_OK(ny);
  EXPECT_EQ((*ny)->OffsetAt(UtcSeconds(2026, 3, 8, 6, 59)), -5 * 3600);
  EXPECT_EQ((*ny)->OffsetAt(UtcSeconds(2026, 3, 8, 7, 0)), -4 * 3600);
  EXPECT_EQ((*ny)->OffsetAt(UtcSeconds(2026, 11, 1, 5, 59)), -4 * 3600);
  EXPECT_EQ((*ny)->OffsetAt(UtcSeconds(2026, 11, 1, 6, 0)), -5 * 3600);
  EXPECT_EQ((*ny)->NextTransition(UtcSeconds(2026, 1, 1, 0)), UtcSeconds(2026, 3, 8, 7));
  EXPECT_EQ((*ny)->PrevTransition(UtcSeconds(2026, 3, 8, 7)), UtcSeconds(2026, 3, 8, 7));
}

TEST(TimeZoneTzif, FooterRuleGivesTheSameTransitionsAsTheTable) {
  auto rule_only = TimeZone::FromTzif("rule", MinimalTzif("EST5EDT,M3.2.0,M11.1.0"));
  ASSERT_OK(rule_only);
  EXPECT_EQ((*rule_only)->NextTransition(UtcSeconds(2026, 1, 1, 0)), UtcSeconds(2026, 3, 8, 7));
  EXPECT_EQ((*rule_only)->NextTransition(UtcSeconds(2026, 3, 8, 7)), UtcSeconds(2026, 11, 1, 6));
  EXPECT_EQ((*rule_only)->OffsetAt(UtcSeconds(2150, 7, 1, 0)), -4 * 3600);
  auto fixed = TimeZone::FromTzif("fixed", MinimalTzif("<+0530>-5:30"));
  ASSERT_OK(fixed);
  EXPECT_EQ((*fixed)->OffsetAt(UtcSeconds(2026, 7, 1, 0)), 5 * 3600 + 1800);
  EXPECT_FALSE((*fixed)->NextTransition(0).has_value());
}

TEST(TimeZoneTzif, RefusesBadNamesAndFiles) {
  for (const char* name : {"", "/etc/passwd", "../x", "America/../../etc", "a b", "Nowhere/City"}) {
    auto z = TimeZone::Load(name);
    EXPECT_FALSE(z.ok()) << name;
    if (!z.ok()) {
      EXPECT_TRUE(z.status().IsInvalidArgument());
      EXPECT_NE(z.status().message().find("timezone \""), std::string::npos);
    }
  }
  EXPECT_FALSE(TimeZone::FromTzif("x", "not a zone").ok());
  EXPECT_FALSE(TimeZone::FromTzif("x", MinimalTzif("EST5EDT,J60,J300")).ok());
  std::string truncated = MinimalTzif("EST5");
  EXPECT_FALSE(TimeZone::FromTzif("x", truncated.substr(0, 60)).ok());
  auto utc = TimeZone::Load("UTC");
  ASSERT_OK(utc);
  EXPECT_EQ((*utc)->OffsetAt(UtcSeconds(2026, 7, 1, 0)), 0);
}

}  // namespace
}  // namespace bananas::testing
