// The API's I/O-free pieces without sockets or Redis: RFC 3339 and base64 codecs, submit
// validation details, routing, and the job as JSON.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "api/base64.h"
#include "api/job_json.h"
#include "api/router.h"
#include "api/submit_request.h"
#include "api/time_format.h"
#include "test_util.h"

namespace bananas::api {
namespace {

namespace http = boost::beast::http;

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(1'700'000'000'123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(FormatRfc3339(951'782'400'000), "2000-02-29T00:00:00.000Z");
}

TEST(Rfc3339, ParsesEveryFormAndRefusesTheRest) {
  EXPECT_EQ(*ParseRfc3339("2023-11-14T22:13:20Z"), 1'700'000'000'000);
  EXPECT_EQ(*ParseRfc3339("2023-11-14t22:13:20.123456z"), 1'700'000'000'123);
  EXPECT_EQ(*ParseRfc3339("2023-11-15T00:13:20.5+02:00"), 1'700'000'000'500);
  EXPECT_EQ(*ParseRfc3339("2023-11-14T21:13:20-01:00"), 1'700'000'000'000);
  EXPECT_EQ(*ParseRfc3339("2000-02-29T00:00:00Z"), 951'782'400'000);
  for (const char* bad :
       {"", "2023-11-14", "2023-11-14 22:13:20Z", "2023-11-14T22:13:20", "2023-13-01T00:00:00Z",
        "2023-02-29T00:00:00Z", "2023-11-14T24:00:00Z", "2023-11-14T22:13:20.Z",
        "2023-11-14T22:13:20+2:00", "2023-11-14T22:13:20Zjunk", "1969-12-31T23:59:59Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad).ok()) << bad;
  }
}

TEST(Base64, RoundTripsAndRefusesBadText) {
  for (std::string bytes : {std::string(), std::string("f"), std::string("fo"), std::string("foo"),
                            std::string("\0\xff\x80", 3)}) {
    auto decoded = DecodeBase64(EncodeBase64(bytes));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, bytes);
  }
  EXPECT_EQ(EncodeBase64("hello"), "aGVsbG8=");
  for (const char* bad : {"a", "aGVsbG8", "aGV$bG8=", "a=bc", "====", "aGVsbG8=="}) {
    EXPECT_FALSE(DecodeBase64(bad).ok()) << bad;
  }
}

TEST(SubmitValidation, DefaultsAndDelay) {
  auto body = ParseJsonBody(R"({"name":"a","delay_ms":1500})");
  ASSERT_TRUE(body.ok());
  auto spec = ParseJobSpec(*body, SubmitDefaults{7}, 1'000'000);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->queue, "default");
  EXPECT_EQ(spec->priority, Priority::kNormal);
  EXPECT_EQ(spec->max_retries, 7);
  EXPECT_EQ(spec->run_at_unix_ms, 1'001'500);
  EXPECT_EQ(spec->payload, "");
}

TEST(SubmitValidation, ErrorsNameTheFieldWithItsPrefix) {
  auto body = ParseJsonBody(R"({"jobs":[{"name":"a"},{"name":"b","max_retries":1e3}]})");
  ASSERT_TRUE(body.ok());
  auto batch = ParseBatch(*body, {}, 0);
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.error().field, "jobs[1].max_retries");
  EXPECT_EQ(batch.error().code, "invalid_field");
}

TEST(SubmitValidation, JobIdsAreCheckedToTheQueuePart) {
  EXPECT_TRUE(ParseJobId("01ARZ3NDEKTSV4RRFFQ69G5FAV-default").ok());
  EXPECT_EQ(ParseJobId("01ARZ3NDEKTSV4RRFFQ69G5FAV-a}b").error().http_status, 404);
  EXPECT_EQ(ParseJobId("short-default").error().http_status, 404);
}

TEST(Router, MatchesParametersAndReportsAllowedMethods) {
  RouteMatch m = MatchRoute(http::verb::get, {"api", "v1", "jobs", "X-q", "result"});
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->id, RouteId::kJobResult);
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0], "X-q");
  RouteMatch batch = MatchRoute(http::verb::post, {"api", "v1", "jobs", "batch"});
  ASSERT_NE(batch.route, nullptr);
  EXPECT_EQ(batch.route->id, RouteId::kSubmitBatch);
  RouteMatch wrong = MatchRoute(http::verb::put, {"api", "v1", "jobs"});
  EXPECT_EQ(wrong.route, nullptr);
  EXPECT_EQ(wrong.allow, "POST");
  EXPECT_EQ(MatchRoute(http::verb::get, {"api", "v1", "jobs", ""}).route, nullptr);
  auto target = ParseTarget("/api/v1/dlq?queue=a%2Db&limit=5");
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->segments, (std::vector<std::string>{"api", "v1", "dlq"}));
  ASSERT_EQ(target->query.size(), 2u);
  EXPECT_EQ(target->query[0].second, "a-b");
}

TEST(JobJson, PayloadIsJsonTextOrStringOrBase64) {
  Job job;
  job.id = "01ARZ3NDEKTSV4RRFFQ69G5FAV-default";
  job.payload = R"({"a":[1,2]})";
  EXPECT_EQ(boost::json::serialize(JobToJson(job).at("payload")), R"({"a":[1,2]})");
  job.payload = "plain text";
  EXPECT_EQ(boost::json::serialize(JobToJson(job).at("payload")), R"("plain text")");
  job.payload = std::string("\xff\x00", 2);
  boost::json::object o = JobToJson(job);
  EXPECT_TRUE(o.at("payload").is_null());
  EXPECT_EQ(o.at("payload_base64").as_string(), "/wA=");
  job.payload.clear();
  EXPECT_TRUE(JobToJson(job).at("payload").is_null());
  EXPECT_TRUE(JobToJson(job).at("started_at").is_null());
}

// Found by api_fuzz: a job hash whose name (or error) is not UTF-8 rendered as invalid JSON.
TEST(JobJson, TextFieldsThatAreNotUtf8StillMakeValidJson) {
  Job job;
  job.id = "01ARZ3NDEKTSV4RRFFQ69G5FAV-default";
  job.name =
      "\xa7"
      "echo";
  job.error = "bad \xff\xfe byte";
  job.errors.push_back({1, 1'000, "\xc3"});
  std::string text = boost::json::serialize(JobToJson(job));
  boost::system::error_code ec;
  boost::json::value back = boost::json::parse(text, ec);
  ASSERT_FALSE(ec) << text;
  EXPECT_EQ(back.at("name").as_string(),
            "\xEF\xBF\xBD"
            "echo");
  EXPECT_EQ(back.at("error").as_string(), "bad \xEF\xBF\xBD\xEF\xBF\xBD byte");
  EXPECT_EQ(ToValidUtf8("ok \xc3\xa9"), "ok \xc3\xa9");
}

TEST(JobJson, SubmittedJobMirrorsEnqueue) {
  JobSpec spec;
  spec.name = "n";
  spec.run_at_unix_ms = 5'000;
  Job scheduled = JobFromSpec(spec, "id", 1'000);
  EXPECT_EQ(scheduled.state, JobState::kScheduled);
  EXPECT_EQ(scheduled.run_at_unix_ms, 5'000);
  spec.run_at_unix_ms = 500;  // in the past: now
  Job pending = JobFromSpec(spec, "id", 1'000);
  EXPECT_EQ(pending.state, JobState::kPending);
  EXPECT_EQ(pending.run_at_unix_ms, 1'000);
  EXPECT_EQ(pending.created_unix_ms, 1'000);
}

}  // namespace
}  // namespace bananas::api
