// `bananas schedules ...` and `bananas scheduler --config FILE` end to end: the built binary
// against a real redis-server.
#include <signal.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "process.h"
#include "redis_server.h"
#include "test_util.h"

namespace bananas::testing {
namespace {

constexpr int kExitUsage = 2;

class SchedulesCli : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<RedisServer>> redis = RedisServer::Start();
    ASSERT_OK(redis);
    redis_ = std::move(*redis);
  }

  ProcessOptions Options(std::vector<std::string> args) {
    ProcessOptions options;
    options.args = {BANANAS_BIN};
    options.args.insert(options.args.end(), args.begin(), args.end());
    options.env = {{"REDIS_URL", redis_->url()}};
    return options;
  }
  std::unique_ptr<Process> Run(std::vector<std::string> args) {
    return RunToExit(Options(std::move(args)));
  }
  boost::json::value RunJson(std::vector<std::string> args) {
    std::unique_ptr<Process> p = Run(args);
    EXPECT_EQ(p->WaitExit(), 0) << p->Output();
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(p->out(), ec);
    EXPECT_FALSE(ec) << p->Output();
    return v;
  }
  static std::string Str(const boost::json::value& v, const char* key) {
    const auto* field = v.is_object() ? v.as_object().if_contains(key) : nullptr;
    return field != nullptr && field->is_string() ? std::string(field->as_string()) : "";
  }

  std::unique_ptr<RedisServer> redis_;
};

TEST_F(SchedulesCli, AddListPauseResumeTriggerAndRemove) {
  boost::json::value added =
      RunJson({"schedules", "add", "nightly", "30 2 * * *", "report", "--timezone",
               "America/New_York", "--payload", R"({"kind":"daily"})", "--queue", "reports",
               "--json"});
  EXPECT_EQ(Str(added, "id"), "nightly");
  EXPECT_EQ(Str(added, "cron"), "30 2 * * *");
  EXPECT_EQ(Str(added, "timezone"), "America/New_York");
  EXPECT_EQ(Str(added.at("job"), "queue"), "reports");
  EXPECT_FALSE(Str(added, "next_run").empty());
  EXPECT_NE(redis_->Cli({"ZSCORE", "bananas:{cron}:due", "nightly"}), "");

  std::unique_ptr<Process> list = Run({"schedules", "list"});
  EXPECT_EQ(list->WaitExit(), 0) << list->Output();
  EXPECT_NE(list->out().find("ID"), std::string::npos) << list->Output();
  EXPECT_NE(list->out().find("nightly  30 2 * * *  America/New_York  active  report@reports"),
            std::string::npos)
      << list->Output();

  // A second add of the id is refused; --replace changes it.
  std::unique_ptr<Process> again = Run({"schedules", "add", "nightly", "@daily", "report"});
  EXPECT_EQ(again->WaitExit(), 1) << again->Output();
  EXPECT_NE(again->err().find("already exists"), std::string::npos) << again->Output();

  std::unique_ptr<Process> paused = Run({"schedules", "pause", "nightly"});
  EXPECT_EQ(paused->WaitExit(), 0) << paused->Output();
  EXPECT_NE(paused->out().find("schedule nightly paused"), std::string::npos) << paused->Output();
  EXPECT_EQ(redis_->Cli({"ZSCORE", "bananas:{cron}:due", "nightly"}), "");
  EXPECT_EQ(redis_->Cli({"HGET", "bananas:{cron}:schedule:nightly", "paused"}), "1");

  // Trigger runs the job now, paused or not, and counts it.
  boost::json::value triggered = RunJson({"schedules", "trigger", "nightly", "--json"});
  const std::string job_id = Str(triggered.at("job"), "id");
  EXPECT_EQ(Str(triggered.at("job"), "name"), "report");
  EXPECT_EQ(Str(triggered.at("job"), "queue"), "reports");
  EXPECT_EQ(redis_->Cli({"LRANGE", "bananas:{reports}:pending:normal", "0", "-1"}), job_id);
  EXPECT_EQ(triggered.at("schedule").at("run_count").as_int64(), 1);
  EXPECT_TRUE(triggered.at("schedule").at("paused").as_bool());

  boost::json::value resumed = RunJson({"schedules", "resume", "nightly", "--json"});
  EXPECT_FALSE(resumed.at("paused").as_bool());
  EXPECT_NE(redis_->Cli({"ZSCORE", "bananas:{cron}:due", "nightly"}), "");

  std::unique_ptr<Process> removed = Run({"schedules", "rm", "nightly"});
  EXPECT_EQ(removed->WaitExit(), 0) << removed->Output();
  EXPECT_EQ(redis_->Cli({"EXISTS", "bananas:{cron}:schedule:nightly"}), "0");
  EXPECT_EQ(redis_->Cli({"ZSCORE", "bananas:{cron}:due", "nightly"}), "");
  std::unique_ptr<Process> gone = Run({"schedules", "pause", "nightly"});
  EXPECT_EQ(gone->WaitExit(), 1) << gone->Output();
  EXPECT_NE(gone->err().find("not found"), std::string::npos) << gone->Output();
}

TEST_F(SchedulesCli, BadExpressionExitsTwoNamingTheFieldAndWritesNothing) {
  std::unique_ptr<Process> bad = Run({"schedules", "add", "x", "0 25 * * *", "report"});
  EXPECT_EQ(bad->WaitExit(), kExitUsage) << bad->Output();
  EXPECT_NE(bad->err().find("cron: field \"hour\" (2nd): 25 out of range 0-23"), std::string::npos)
      << bad->Output();
  std::unique_ptr<Process> zone =
      Run({"schedules", "add", "x", "@daily", "report", "--timezone", "Mars/Base"});
  EXPECT_EQ(zone->WaitExit(), kExitUsage) << zone->Output();
  EXPECT_NE(zone->err().find("timezone \"Mars/Base\""), std::string::npos) << zone->Output();
  EXPECT_EQ(redis_->Cli({"DBSIZE"}), "0");
}

TEST_F(SchedulesCli, SchedulerFiresTheConfigFilesSchedules) {
  TempDir dir;
  const std::string path = dir.path() + "/schedules.toml";
  {
    std::ofstream file(path);
    file << "[[schedules]]\n"
            "id = \"tick\"\n"
            "cron = \"@every 1s\"\n"
            "[schedules.job]\n"
            "name = \"noop\"\n"
            "queue = \"ticks\"\n"
            "payload = { n = 1, tags = [\"a\", \"b\"] }\n";
  }
  std::unique_ptr<Process> bad_file = Run({"scheduler", "--config", dir.path() + "/none.toml"});
  EXPECT_EQ(bad_file->WaitExit(), kExitUsage) << bad_file->Output();
  EXPECT_NE(bad_file->err().find("none.toml"), std::string::npos) << bad_file->Output();

  auto scheduler = Process::Start(Options({"scheduler", "--pprof-port", "0", "--config", path}));
  ASSERT_OK(scheduler);
  ASSERT_TRUE((*scheduler)->WaitForStdout("bananas scheduler: ready")) << (*scheduler)->Output();
  EXPECT_NE((*scheduler)->out().find("1 schedule(s) from " + path), std::string::npos)
      << (*scheduler)->Output();
  ASSERT_TRUE(WaitFor([&] {
    return std::stoll(redis_->Cli({"LLEN", "bananas:{ticks}:pending:normal"})) >= 2;
  })) << (*scheduler)->Output();
  (*scheduler)->Signal(SIGTERM);
  EXPECT_EQ((*scheduler)->WaitExit(), 0) << (*scheduler)->Output();

  boost::json::value list = RunJson({"schedules", "list", "--json"});
  ASSERT_EQ(list.at("schedules").as_array().size(), 1u);
  const auto& tick = list.at("schedules").as_array()[0];
  EXPECT_EQ(Str(tick, "source"), "config");
  EXPECT_GE(tick.at("run_count").as_int64(), 2);
  EXPECT_EQ(boost::json::serialize(tick.at("job").at("payload")), R"({"n":1,"tags":["a","b"]})");
}

TEST_F(SchedulesCli, ConfigFileErrorsNameTheEntryAndField) {
  TempDir dir;
  const std::string path = dir.path() + "/bad.toml";
  {
    std::ofstream file(path);
    file << "[[schedules]]\nid = \"ok\"\ncron = \"@hourly\"\njob = { name = \"noop\" }\n"
            "[[schedules]]\nid = \"broken\"\ncron = \"0 0 * * 9\"\njob = { name = \"noop\" }\n";
  }
  std::unique_ptr<Process> p = Run({"scheduler", "--config", path});
  EXPECT_EQ(p->WaitExit(), kExitUsage) << p->Output();
  EXPECT_NE(p->err().find(path + ": schedules[1] (broken): cron: cron: field \"day-of-week\" "
                                 "(5th): 9 out of range 0-7"),
            std::string::npos)
      << p->Output();
  EXPECT_EQ(redis_->Cli({"DBSIZE"}), "0");
}

}  // namespace
}  // namespace bananas::testing
