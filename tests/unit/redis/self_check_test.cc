// The self-check's verdicts (redis/self_check.h), from INFO text and config values: I/O-free.
#include "redis/self_check.h"

#include "gtest/gtest.h"

namespace bananas::redis {
namespace {

RedisReport Healthy() {
  RedisReport report;
  report.version = "7.0.15";
  report.maxmemory_policy = "noeviction";
  report.aof_enabled = true;
  report.rdb_save = "3600 1";
  return report;
}

const CheckResult& Check(const RedisReport& report, const std::string& name) {
  for (const CheckResult& c : report.checks) {
    if (c.name == name) return c;
  }
  static CheckResult missing{"missing", CheckLevel::kFail, "", ""};
  return missing;
}

TEST(SelfCheck, HealthyRedisPassesEveryCheck) {
  RedisReport report = Healthy();
  EvaluateChecks(report);
  ASSERT_EQ(report.checks.size(), 3u);
  for (const CheckResult& c : report.checks) EXPECT_EQ(c.level, CheckLevel::kOk) << c.name;
  EXPECT_FALSE(report.failed());
  EXPECT_FALSE(report.warned());
}

TEST(SelfCheck, EvictionPolicyWarnsWithTheFix) {
  RedisReport report = Healthy();
  report.maxmemory_policy = "allkeys-lru";
  EvaluateChecks(report);
  const CheckResult& policy = Check(report, "maxmemory-policy");
  EXPECT_EQ(policy.level, CheckLevel::kWarn);
  EXPECT_NE(policy.message.find("allkeys-lru"), std::string::npos);
  EXPECT_NE(policy.fix.find("CONFIG SET maxmemory-policy noeviction"), std::string::npos);
  EXPECT_FALSE(report.failed());
}

TEST(SelfCheck, NoPersistenceWarnsRdbOnlyPasses) {
  RedisReport report = Healthy();
  report.aof_enabled = false;
  report.rdb_save = "";
  EvaluateChecks(report);
  EXPECT_EQ(Check(report, "persistence").level, CheckLevel::kWarn);
  EXPECT_NE(Check(report, "persistence").fix.find("appendonly yes"), std::string::npos);

  report.rdb_save = "60 1000";
  EvaluateChecks(report);
  EXPECT_EQ(Check(report, "persistence").level, CheckLevel::kOk);

  report.rdb_save = "unknown";  // CONFIG refused
  EvaluateChecks(report);
  EXPECT_EQ(Check(report, "persistence").level, CheckLevel::kWarn);
}

TEST(SelfCheck, RedisOlderThanSevenFails) {
  RedisReport report = Healthy();
  report.version = "6.2.14";
  EvaluateChecks(report);
  EXPECT_EQ(Check(report, "version").level, CheckLevel::kFail);
  EXPECT_NE(Check(report, "version").fix.find("7.0"), std::string::npos);
  EXPECT_TRUE(report.failed());
  EXPECT_TRUE(VersionAtLeast("7.0.0", 7, 0));
  EXPECT_TRUE(VersionAtLeast("7.2.4", 7, 0));
  EXPECT_TRUE(VersionAtLeast("10.0.1", 7, 0));
  EXPECT_FALSE(VersionAtLeast("6.9.9", 7, 0));
  EXPECT_FALSE(VersionAtLeast("", 7, 0));
  EXPECT_FALSE(VersionAtLeast("garbage", 7, 0));
}

TEST(SelfCheck, ParseInfoSkipsSectionsAndComments) {
  auto info = ParseInfo("# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n\r\n"
                        "# Memory\r\nmaxmemory_policy:noeviction\r\nbad line\r\n");
  EXPECT_EQ(info["redis_version"], "7.0.15");
  EXPECT_EQ(info["redis_mode"], "standalone");
  EXPECT_EQ(info["maxmemory_policy"], "noeviction");
  EXPECT_EQ(info.size(), 3u);
}

}  // namespace
}  // namespace bananas::redis
