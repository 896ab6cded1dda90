// The schedule routes over HTTP against a real redis-server: create, read, replace, pause,
// resume, trigger, delete, and refusals that name the field and write nothing.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "api_fixture.h"

namespace bananas::testing {
namespace {

namespace http = boost::beast::http;

constexpr const char* kNightly =
    R"({"id":"nightly","cron":"30 2 * * *","timezone":"America/New_York",)"
    R"("job":{"name":"report","queue":"reports","payload":{"kind":"daily"},"priority":"low"}})";

class ScheduleRoutes : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    StartApi();
  }
  HttpResult Put(const std::string& target, const std::string& body) {
    return client_->Send(http::verb::put, target, body);
  }
  std::string DueScore(const std::string& id) { return Cli({"ZSCORE", "bananas:{cron}:due", id}); }
};

TEST_F(ScheduleRoutes, CreateReadListAndDelete) {
  HttpResult created = Post("/api/v1/schedules", kNightly);
  ASSERT_EQ(created.status, 201) << created.Describe();
  EXPECT_EQ(created.headers["Location"], "/api/v1/schedules/nightly");
  EXPECT_EQ(Str(created.json, "id"), "nightly");
  EXPECT_EQ(Str(created.json, "timezone"), "America/New_York");
  EXPECT_EQ(Str(created.json, "missed"), "once");
  EXPECT_TRUE(created.json.at("enabled").as_bool());
  EXPECT_FALSE(created.json.at("paused").as_bool());
  EXPECT_EQ(created.json.at("run_count").as_int64(), 0);
  EXPECT_TRUE(created.json.at("last_run").is_null());
  EXPECT_TRUE(created.json.at("last_error").is_null());
  EXPECT_EQ(boost::json::serialize(created.json.at("job")),
            R"({"name":"report","payload":{"kind":"daily"},"priority":"low","queue":"reports",)"
            R"("max_retries":3})");
  // next_run is 02:30 in New York: 06:30Z or 07:30Z depending on the date.
  const std::string next = Str(created.json, "next_run");
  EXPECT_TRUE(next.find("T06:30:00.000Z") != std::string::npos ||
              next.find("T07:30:00.000Z") != std::string::npos)
      << next;
  EXPECT_NE(DueScore("nightly"), "");

  HttpResult again = Post("/api/v1/schedules", kNightly);
  EXPECT_EQ(again.status, 409) << again.Describe();

  HttpResult one = Get("/api/v1/schedules/nightly");
  ASSERT_EQ(one.status, 200) << one.Describe();
  EXPECT_EQ(boost::json::serialize(one.json), boost::json::serialize(created.json));
  HttpResult list = Get("/api/v1/schedules");
  ASSERT_EQ(list.status, 200) << list.Describe();
  ASSERT_EQ(list.json.at("schedules").as_array().size(), 1u);

  HttpResult deleted = Delete("/api/v1/schedules/nightly");
  EXPECT_EQ(deleted.status, 200) << deleted.Describe();
  // Only the schedulers' wake-up token (pushed by the create) is left.
  EXPECT_EQ(Cli({"KEYS", "*"}), "bananas:{cron}:wake");
  EXPECT_EQ(Get("/api/v1/schedules/nightly").status, 404);
  EXPECT_EQ(Delete("/api/v1/schedules/nightly").status, 404);
}

TEST_F(ScheduleRoutes, RefusalsNameTheFieldAndWriteNothing) {
  struct Case {
    const char* body;
    const char* field;
  };
  for (const Case& c : {
           Case{R"({"id":"a","cron":"0 25 * * *","job":{"name":"x"}})", "cron"},
           Case{R"({"id":"a","cron":"@daily","timezone":"Mars/Base","job":{"name":"x"}})",
                "timezone"},
           Case{R"({"id":"a b","cron":"@daily","job":{"name":"x"}})", "id"},
           Case{R"({"cron":"@daily","job":{"name":"x"}})", "id"},
           Case{R"({"id":"a","job":{"name":"x"}})", "cron"},
           Case{R"({"id":"a","cron":"@daily"})", "job"},
           Case{R"({"id":"a","cron":"@daily","job":{"name":"x","priority":"urgent"}})",
                "job.priority"},
           Case{R"({"id":"a","cron":"@daily","job":{"name":"x","delay_ms":5}})", "job.delay_ms"},
           Case{R"({"id":"a","cron":"@daily","job":{"name":"x","unique_key":"k"}})",
                "job.unique_key"},
           Case{R"({"id":"a","cron":"@daily","missed":"later","job":{"name":"x"}})", "missed"},
           Case{R"({"id":"a","cron":"@daily","job":{"name":"x"},"every":1})", "every"},
       }) {
    HttpResult r = Post("/api/v1/schedules", c.body);
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r.Describe();
    EXPECT_EQ(r.ErrorField(), c.field) << c.body << " -> " << r.Describe();
  }
  HttpResult hour = Post("/api/v1/schedules", R"({"id":"a","cron":"0 25 * * *","job":{"name":"x"}})");
  EXPECT_NE(hour.body.find(R"(cron: field \"hour\" (2nd): 25 out of range 0-23)"),
            std::string::npos)
      << hour.Describe();
  EXPECT_EQ(DbSize(), 0);
}

TEST_F(ScheduleRoutes, PutReplacesKeepingStateAndCreatesWhenMissing) {
  ASSERT_EQ(Post("/api/v1/schedules", kNightly).status, 201);
  ASSERT_EQ(Post("/api/v1/schedules/nightly/trigger").status, 201);
  ASSERT_EQ(Post("/api/v1/schedules/nightly/pause").status, 200);
  HttpResult replaced =
      Put("/api/v1/schedules/nightly", R"({"cron":"0 3 * * *","job":{"name":"report2"}})");
  ASSERT_EQ(replaced.status, 200) << replaced.Describe();
  EXPECT_EQ(Str(replaced.json, "cron"), "0 3 * * *");
  EXPECT_EQ(Str(replaced.json, "timezone"), "UTC");
  EXPECT_EQ(Str(replaced.json.at("job"), "name"), "report2");
  EXPECT_EQ(replaced.json.at("run_count").as_int64(), 1);
  EXPECT_TRUE(replaced.json.at("paused").as_bool());
  EXPECT_EQ(DueScore("nightly"), "");

  HttpResult other = Put("/api/v1/schedules/other", R"({"id":"nope","cron":"@daily","job":{"name":"x"}})");
  EXPECT_EQ(other.status, 400) << other.Describe();
  EXPECT_EQ(other.ErrorField(), "id");
  HttpResult created = Put("/api/v1/schedules/other", R"({"cron":"@daily","job":{"name":"x"}})");
  EXPECT_EQ(created.status, 201) << created.Describe();
}

TEST_F(ScheduleRoutes, PauseResumeAndTrigger) {
  ASSERT_EQ(Post("/api/v1/schedules", kNightly).status, 201);
  HttpResult paused = Post("/api/v1/schedules/nightly/pause");
  ASSERT_EQ(paused.status, 200) << paused.Describe();
  EXPECT_TRUE(paused.json.at("paused").as_bool());
  EXPECT_EQ(DueScore("nightly"), "");
  EXPECT_EQ(Cli({"HGET", "bananas:{cron}:schedule:nightly", "paused"}), "1");

  // A trigger runs now even when paused; the job is an ordinary job of the schedule's queue.
  HttpResult triggered = Post("/api/v1/schedules/nightly/trigger");
  ASSERT_EQ(triggered.status, 201) << triggered.Describe();
  const std::string job_id = Str(triggered.json.at("job"), "id");
  EXPECT_EQ(Str(triggered.json.at("job"), "name"), "report");
  EXPECT_EQ(Str(triggered.json.at("job"), "priority"), "low");
  EXPECT_EQ(Cli({"LRANGE", "bananas:{reports}:pending:low", "0", "-1"}), job_id);
  EXPECT_EQ(triggered.json.at("schedule").at("run_count").as_int64(), 1);
  EXPECT_EQ(Str(triggered.json.at("schedule"), "last_job_id"), job_id);
  EXPECT_TRUE(triggered.json.at("schedule").at("paused").as_bool());
  EXPECT_EQ(DueScore("nightly"), "");

  HttpResult resumed = Post("/api/v1/schedules/nightly/resume");
  ASSERT_EQ(resumed.status, 200) << resumed.Describe();
  EXPECT_FALSE(resumed.json.at("paused").as_bool());
  EXPECT_NE(DueScore("nightly"), "");

  EXPECT_EQ(Post("/api/v1/schedules/missing/pause").status, 404);
  EXPECT_EQ(Post("/api/v1/schedules/missing/resume").status, 404);
  EXPECT_EQ(Post("/api/v1/schedules/missing/trigger").status, 404);
  EXPECT_EQ(Get("/api/v1/schedules/not%20an%20id").status, 404);
}

}  // namespace
}  // namespace bananas::testing
