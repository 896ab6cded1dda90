// The queue, DLQ, worker and service routes over HTTP, and the server's own rules: bearer
// token, body limit, keep-alive, unknown routes and methods, health and readiness.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <sstream>

#include "api_fixture.h"
#include "bananas/worker.h"

namespace bananas::testing {
namespace {

namespace http = boost::beast::http;

class QueueRoutes : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    StartApi();
  }
};

TEST_F(QueueRoutes, ListsEveryQueueWithCountsPerState) {
  ASSERT_EQ(Post("/api/v1/jobs", R"({"name":"a","priority":"high"})").status, 201);
  ASSERT_EQ(Post("/api/v1/jobs", R"({"name":"a","priority":"low"})").status, 201);
  ASSERT_EQ(Post("/api/v1/jobs", R"({"name":"a","queue":"mail","delay_ms":60000})").status, 201);
  SeedDead("mail");
  HttpResult r = Get("/api/v1/queues");
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(
      boost::json::serialize(r.json),
      R"({"queues":[{"name":"default","paused":false,"pending":{"high":1,"normal":0,"low":1},)"
      R"("scheduled":0,"active":0,"retrying":0,"dead":0},)"
      R"({"name":"mail","paused":false,"pending":{"high":0,"normal":0,"low":0},)"
      R"("scheduled":1,"active":0,"retrying":0,"dead":1}]})");
}

TEST_F(QueueRoutes, PauseAndResumeSetAndClearThePausedKey) {
  HttpResult paused = Post("/api/v1/queues/mail/pause");
  ASSERT_EQ(paused.status, 200) << paused.Describe();
  EXPECT_TRUE(paused.json.at("paused").as_bool());
  EXPECT_EQ(Cli({"EXISTS", "bananas:{mail}:paused"}), "1");
  HttpResult listed = Get("/api/v1/queues");
  EXPECT_TRUE(listed.json.at("queues").as_array()[0].at("paused").as_bool());
  HttpResult resumed = Post("/api/v1/queues/mail/resume");
  ASSERT_EQ(resumed.status, 200) << resumed.Describe();
  EXPECT_FALSE(resumed.json.at("paused").as_bool());
  EXPECT_EQ(Cli({"EXISTS", "bananas:{mail}:paused"}), "0");
}

TEST_F(QueueRoutes, BadQueueNameIs400NamingIt) {
  const int64_t keys = DbSize();
  HttpResult r = Post("/api/v1/queues/a%20b/pause");
  EXPECT_EQ(r.status, 400) << r.Describe();
  EXPECT_EQ(r.ErrorField(), "name");
  EXPECT_EQ(DbSize(), keys);
}

class DlqRoutes : public QueueRoutes {};

TEST_F(DlqRoutes, ListsNewestFirstWithTotal) {
  const std::string first = SeedDead("default", "first");
  const std::string second = SeedDead("mail", "second");
  HttpResult all = Get("/api/v1/dlq");
  ASSERT_EQ(all.status, 200) << all.Describe();
  EXPECT_EQ(all.json.at("total").as_int64(), 2);
  ASSERT_EQ(all.json.at("jobs").as_array().size(), 2u);
  EXPECT_EQ(Str(all.json.at("jobs").as_array()[0], "id"), second);
  EXPECT_EQ(Str(all.json.at("jobs").as_array()[0], "state"), "failed");
  EXPECT_EQ(Str(all.json.at("jobs").as_array()[0], "error"), "boom");

  HttpResult one = Get("/api/v1/dlq?queue=default&limit=5&offset=0");
  ASSERT_EQ(one.status, 200) << one.Describe();
  EXPECT_EQ(one.json.at("total").as_int64(), 1);
  EXPECT_EQ(Str(one.json.at("jobs").as_array()[0], "id"), first);

  EXPECT_EQ(Get("/api/v1/dlq?limit=0").ErrorField(), "limit");
  EXPECT_EQ(Get("/api/v1/dlq?queue=a%7Bb").ErrorField(), "queue");
  EXPECT_EQ(Get("/api/v1/dlq?offset=999&limit=2").ErrorField(), "offset");
  EXPECT_EQ(Get("/api/v1/dlq?page=2").ErrorCode(), "unknown_field");
}

TEST_F(DlqRoutes, RetryOneMakesItPendingAndPurgeOneDeletesIt) {
  const std::string retried = SeedDead();
  const std::string purged = SeedDead();
  HttpResult r = Post("/api/v1/dlq/" + retried + "/retry");
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.json.at("retried").as_int64(), 1);
  EXPECT_EQ(StateOf(retried), "pending");
  EXPECT_EQ(Cli({"LRANGE", "bananas:{default}:pending:normal", "0", "-1"}), retried);

  HttpResult d = Delete("/api/v1/dlq/" + purged);
  ASSERT_EQ(d.status, 200) << d.Describe();
  EXPECT_EQ(d.json.at("purged").as_int64(), 1);
  EXPECT_EQ(StateOf(purged), "notfound");
  EXPECT_EQ(Cli({"ZCARD", "bananas:{default}:dead"}), "0");

  // Neither is in the DLQ any more.
  EXPECT_EQ(Post("/api/v1/dlq/" + retried + "/retry").status, 404);
  EXPECT_EQ(Delete("/api/v1/dlq/" + purged).status, 404);
  EXPECT_EQ(Delete("/api/v1/dlq/not-an-id").status, 404);
}

TEST_F(DlqRoutes, BulkRetryAndPurgeByQueue) {
  SeedDead("a");
  SeedDead("a");
  SeedDead("b");
  HttpResult retried = Post("/api/v1/dlq/retry?queue=a");
  ASSERT_EQ(retried.status, 200) << retried.Describe();
  EXPECT_EQ(retried.json.at("retried").as_int64(), 2);
  EXPECT_EQ(Cli({"LLEN", "bananas:{a}:pending:normal"}), "2");
  EXPECT_EQ(Cli({"ZCARD", "bananas:{b}:dead"}), "1");

  HttpResult purged = Delete("/api/v1/dlq");
  ASSERT_EQ(purged.status, 200) << purged.Describe();
  EXPECT_EQ(purged.json.at("purged").as_int64(), 1);
  EXPECT_EQ(Cli({"ZCARD", "bananas:{b}:dead"}), "0");
  EXPECT_EQ(Post("/api/v1/dlq/retry?limit=0").ErrorField(), "limit");
}

class WorkersRoute : public QueueRoutes {};

TEST_F(WorkersRoute, ShowsALiveWorkerFromItsHeartbeat) {
  WorkerOptions o;
  o.redis_url = Server().url();
  o.concurrency = 3;
  o.queues = {"default", "mail"};
  o.lease_timeout = std::chrono::milliseconds(600);
  auto worker = Worker::Create(o);
  ASSERT_OK(worker);
  ASSERT_OK((*worker)->RegisterBuiltins());
  ASSERT_OK((*worker)->Start());
  HttpResult r;
  ASSERT_TRUE(WaitFor([&] {
    r = Get("/api/v1/workers");
    return r.status == 200 && !r.json.at("workers").as_array().empty();
  })) << r.Describe();
  const auto& w = r.json.at("workers").as_array()[0];
  EXPECT_EQ(Str(w, "id"), (*worker)->id());
  EXPECT_EQ(w.at("pid").as_int64(), static_cast<int64_t>(::getpid()));
  EXPECT_EQ(w.at("concurrency").as_int64(), 3);
  EXPECT_EQ(boost::json::serialize(w.at("queues")), R"(["default","mail"])");
  EXPECT_FALSE(Str(w, "host").empty());
  EXPECT_FALSE(Str(w, "started_at").empty());
  EXPECT_FALSE(Str(w, "last_heartbeat").empty());
  (*worker)->Stop();
  (*worker)->Wait();
  HttpResult after = Get("/api/v1/workers");
  EXPECT_TRUE(after.json.at("workers").as_array().empty()) << after.Describe();
}

class ServiceRoutes : public QueueRoutes {};

TEST_F(ServiceRoutes, HealthReadyAndMetrics) {
  HttpResult health = Get("/healthz");
  EXPECT_EQ(health.status, 200);
  ASSERT_TRUE(WaitFor([&] { return Get("/readyz").status == 200; }));
  HttpResult metrics = Get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.headers["Content-Type"].rfind("text/plain", 0), 0u);
  EXPECT_NE(metrics.body.find("bananas_api_requests_total "), std::string::npos);
  EXPECT_NE(metrics.body.find("bananas_api_redis_ready 1"), std::string::npos);
}

TEST_F(ServiceRoutes, UnknownRouteIs404AndWrongMethodIs405) {
  HttpResult missing = Get("/api/v1/nothing");
  EXPECT_EQ(missing.status, 404) << missing.Describe();
  EXPECT_EQ(missing.ErrorCode(), "not_found");
  HttpResult method = client_->Send(http::verb::put, "/api/v1/jobs", "{}");
  EXPECT_EQ(method.status, 405) << method.Describe();
  EXPECT_EQ(method.headers["Allow"], "POST");
  HttpResult dlq = client_->Send(http::verb::patch, "/api/v1/dlq");
  EXPECT_EQ(dlq.headers["Allow"], "GET, DELETE");
}

// Several requests, one connection: HTTP/1.1 keep-alive, and pipelining.
TEST_F(ServiceRoutes, KeepAliveServesManyRequestsOnOneConnection) {
  for (int i = 0; i < 5; ++i) {
    HttpResult r = Post("/api/v1/jobs", R"({"name":"k"})");
    EXPECT_EQ(r.status, 201) << r.Describe();
    EXPECT_TRUE(r.keep_alive);
    EXPECT_EQ(Get("/healthz").status, 200);
  }
  EXPECT_EQ(client_->connects(), 1);
  EXPECT_EQ(Cli({"LLEN", "bananas:{default}:pending:normal"}), "5");
  // Two requests in one write; the answers come back in order.
  HttpResult first = client_->SendRaw(
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(first.status, 200);
  HttpResult second = client_->SendRaw("");
  EXPECT_EQ(second.status, 404);
  EXPECT_EQ(client_->connects(), 1);
}

TEST_F(ServiceRoutes, MalformedHttpIs400) {
  HttpResult r = client_->SendRaw("BOGUS\r\n\r\n");
  EXPECT_EQ(r.status, 400) << r.Describe();
}

class BodyLimit : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    options_.max_body = 1024;
    StartApi();
  }
};

TEST_F(BodyLimit, LargerBodyIs413AndWritesNothing) {
  const int64_t keys = DbSize();
  std::string padding(2000, 'x');
  HttpResult r = Post("/api/v1/jobs", R"({"name":"big","description":")" + padding + R"("})");
  EXPECT_EQ(r.status, 413) << r.Describe();
  EXPECT_EQ(r.ErrorCode(), "payload_too_large");
  EXPECT_FALSE(r.keep_alive);
  // Chunked: no Content-Length to refuse up front; the limit applies while reading.
  std::string chunk(1500, 'y');
  std::stringstream hex;
  hex << std::hex << chunk.size();
  HttpResult chunked = client_->SendRaw(
      "POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + hex.str() +
      "\r\n" + chunk + "\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.status, 413) << chunked.Describe();
  EXPECT_EQ(DbSize(), keys);
  // At the limit is fine.
  std::string body = R"({"name":"fits","description":")";
  body += std::string(1024 - body.size() - 2, 'z') + R"("})";
  ASSERT_EQ(body.size(), 1024u);
  HttpResult fits = Post("/api/v1/jobs", body);
  EXPECT_EQ(fits.status, 201) << fits.Describe();
}

class TokenAuth : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    options_.token = "s3cret-token";
    StartApi();
  }
};

TEST_F(TokenAuth, EveryApiRouteNeedsTheBearerToken) {
  const int64_t keys = DbSize();
  for (const auto& [method, target] : std::vector<std::pair<http::verb, std::string>>{
           {http::verb::post, "/api/v1/jobs"},
           {http::verb::get, "/api/v1/queues"},
           {http::verb::get, "/api/v1/openapi.json"},
           {http::verb::get, "/api/v1/no-such-route"}}) {
    HttpResult none = client_->Send(method, target, R"({"name":"x"})");
    EXPECT_EQ(none.status, 401) << target << " -> " << none.Describe();
    EXPECT_EQ(none.ErrorCode(), "unauthorized");
    EXPECT_EQ(none.headers["WWW-Authenticate"], "Bearer");
    HttpResult wrong = client_->Send(method, target, R"({"name":"x"})",
                                     {{"Authorization", "Bearer s3cret-tokeX"}});
    EXPECT_EQ(wrong.status, 401) << target << " -> " << wrong.Describe();
    HttpResult prefix =
        client_->Send(method, target, R"({"name":"x"})", {{"Authorization", "Bearer s3cret"}});
    EXPECT_EQ(prefix.status, 401) << target << " -> " << prefix.Describe();
    HttpResult basic = client_->Send(method, target, R"({"name":"x"})",
                                     {{"Authorization", "Basic czNjcmV0LXRva2Vu"}});
    EXPECT_EQ(basic.status, 401) << target << " -> " << basic.Describe();
  }
  EXPECT_EQ(DbSize(), keys);
  HttpResult ok = client_->Send(http::verb::post, "/api/v1/jobs", R"({"name":"x"})",
                                {{"Authorization", "Bearer s3cret-token"}});
  EXPECT_EQ(ok.status, 201) << ok.Describe();
  HttpResult lower = client_->Send(http::verb::get, "/api/v1/queues", "",
                                   {{"Authorization", "bearer s3cret-token"}});
  EXPECT_EQ(lower.status, 200) << lower.Describe();
  // Health, readiness and metrics never need it.
  EXPECT_EQ(Get("/healthz").status, 200);
  EXPECT_EQ(Get("/metrics").status, 200);
  EXPECT_NE(Get("/readyz").status, 401);
}

// /healthz stays 200 while Redis is down; /readyz is 503 until Redis answers PING.
class Readiness : public ApiTest {};

TEST_F(Readiness, ReadyzFollowsRedisAndHealthzDoesNot) {
  Server().Stop();
  StartApi();
  EXPECT_EQ(Get("/healthz").status, 200);
  HttpResult not_ready = Get("/readyz");
  EXPECT_EQ(not_ready.status, 503) << not_ready.Describe();
  EXPECT_EQ(not_ready.ErrorCode(), "unavailable");
  HttpResult submit = Post("/api/v1/jobs", R"({"name":"x"})");
  EXPECT_EQ(submit.status, 503) << submit.Describe();
  ASSERT_OK(Server().Restart());
  EXPECT_TRUE(WaitFor([&] { return Get("/readyz").status == 200; }));
  EXPECT_EQ(Get("/healthz").status, 200);
  HttpResult later = Post("/api/v1/jobs", R"({"name":"x"})");
  EXPECT_EQ(later.status, 201) << later.Describe();
}

}  // namespace
}  // namespace bananas::testing
