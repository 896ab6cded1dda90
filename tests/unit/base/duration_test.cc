#include "base/duration.h"

#include <gtest/gtest.h>

namespace bananas {
namespace {

using std::chrono::milliseconds;

TEST(DurationTest, ParsesUnitsAndBareSeconds) {
  EXPECT_EQ(*ParseDuration("250ms", "X"), milliseconds(250));
  EXPECT_EQ(*ParseDuration("30s", "X"), milliseconds(30'000));
  EXPECT_EQ(*ParseDuration("5m", "X"), milliseconds(300'000));
  EXPECT_EQ(*ParseDuration("1h", "X"), milliseconds(3'600'000));
  EXPECT_EQ(*ParseDuration("2", "X"), milliseconds(2000));
  EXPECT_EQ(*ParseDuration("1.5s", "X"), milliseconds(1500));
}

TEST(DurationTest, ErrorNamesVariableAndValue) {
  auto r = ParseDuration("10 parsecs", "LEASE_TIMEOUT");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("LEASE_TIMEOUT"), std::string::npos);
  EXPECT_NE(r.status().message().find("10 parsecs"), std::string::npos);
  EXPECT_FALSE(ParseDuration("", "X").ok());
  EXPECT_FALSE(ParseDuration("-5s", "X").ok());
  EXPECT_FALSE(ParseDuration("5d", "X").ok());
}

TEST(DurationTest, ParsesSizes) {
  EXPECT_EQ(*ParseSize("1024", "API_MAX_BODY"), 1024);
  EXPECT_EQ(*ParseSize("4KiB", "API_MAX_BODY"), 4096);
  EXPECT_EQ(*ParseSize("1MiB", "API_MAX_BODY"), 1 << 20);
  EXPECT_FALSE(ParseSize("1MB", "API_MAX_BODY").ok());
}

TEST(DurationTest, FormatsShortest) {
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(milliseconds(30'000)), "30s");
  EXPECT_EQ(FormatDuration(milliseconds(120'000)), "2m");
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
}

}  // namespace
}  // namespace bananas
