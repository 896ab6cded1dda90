// The job routes of SPEC §6 over HTTP against a real Redis: submit (every field and every
// way it can be refused), batch (all or nothing), get, result (long-poll) and cancel. Each
// refusal also checks that nothing was written (DBSIZE unchanged).
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <future>
#include <thread>

#include "api/base64.h"
#include "api_fixture.h"
#include "bananas/worker.h"

namespace bananas::testing {
namespace {

namespace json = boost::json;

class SubmitRoute : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    StartApi();
  }
};

TEST_F(SubmitRoute, StoresPendingJobAndAnswers201WithIt) {
  HttpResult r = Post("/api/v1/jobs", R"({"name":"echo","payload":{"n":[1,2]}})");
  ASSERT_EQ(r.status, 201) << r.Describe();
  const std::string id = Str(r.json, "id");
  EXPECT_EQ(r.headers["Location"], "/api/v1/jobs/" + id);
  EXPECT_EQ(Str(r.json, "state"), "pending");
  EXPECT_EQ(Str(r.json, "queue"), "default");
  EXPECT_EQ(Str(r.json, "priority"), "normal");
  EXPECT_EQ(r.json.at("max_retries").as_int64(), 3);
  EXPECT_EQ(r.json.at("attempts").as_int64(), 0);
  EXPECT_EQ(json::serialize(r.json.at("payload")), R"({"n":[1,2]})");
  EXPECT_EQ(r.json.at("duplicate").as_bool(), false);
  // RFC 3339 with milliseconds, UTC.
  EXPECT_EQ(Str(r.json, "created_at").size(), 24u) << r.body;
  EXPECT_EQ(Str(r.json, "created_at").back(), 'Z');

  // In Redis before the 201: the job and the pending list.
  EXPECT_EQ(StateOf(id), "pending");
  EXPECT_EQ(Cli({"LRANGE", "bananas:{default}:pending:normal", "0", "-1"}), id);

  // GET shows the same job.
  HttpResult got = Get("/api/v1/jobs/" + id);
  ASSERT_EQ(got.status, 200) << got.Describe();
  r.json.as_object().erase("duplicate");
  EXPECT_EQ(json::serialize(got.json), json::serialize(r.json));
}

TEST_F(SubmitRoute, HonoursEveryField) {
  HttpResult r = Post("/api/v1/jobs", R"({"name":"mail.send:v2","priority":"high","queue":"email",
      "max_retries":0,"timeout_ms":1500,"delay_ms":60000,"unique_key":"order-7",
      "unique_ttl_ms":90000,"description":"welcome mail","payload":"plain string"})");
  ASSERT_EQ(r.status, 201) << r.Describe();
  const std::string id = Str(r.json, "id");
  EXPECT_EQ(Str(r.json, "state"), "scheduled");
  auto stored = broker_->GetJob(id);
  ASSERT_OK(stored);
  EXPECT_EQ(stored->state, JobState::kScheduled);
  EXPECT_EQ(stored->priority, Priority::kHigh);
  EXPECT_EQ(stored->max_retries, 0);
  EXPECT_EQ(stored->timeout_ms, 1500);
  EXPECT_EQ(stored->description, "welcome mail");
  EXPECT_EQ(stored->payload, "\"plain string\"");
  EXPECT_EQ(Cli({"ZSCORE", "bananas:{email}:scheduled", id}),
            std::to_string(stored->run_at_unix_ms));
  EXPECT_EQ(Cli({"GET", "bananas:{email}:unique:order-7"}), id);
  int64_t ttl = std::stoll(Cli({"PTTL", "bananas:{email}:unique:order-7"}));
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 90000);
  EXPECT_EQ(json::serialize(r.json.at("payload")), "\"plain string\"");
}

TEST_F(SubmitRoute, RunAtInTheFutureIsScheduledAtThatTime) {
  HttpResult r =
      Post("/api/v1/jobs", R"({"name":"report","run_at":"2999-01-02T03:04:05.678+01:00"})");
  ASSERT_EQ(r.status, 201) << r.Describe();
  EXPECT_EQ(Str(r.json, "state"), "scheduled");
  EXPECT_EQ(Str(r.json, "run_at"), "2999-01-02T02:04:05.678Z");
  EXPECT_EQ(Cli({"ZSCORE", "bananas:{default}:scheduled", Str(r.json, "id")}), "32472237845678");
}

TEST_F(SubmitRoute, BinaryPayloadBase64RoundTrips) {
  const std::string bytes("\x00\xff\x10 binary", 10);
  HttpResult r = Post("/api/v1/jobs",
                      R"({"name":"raw","payload_base64":")" + api::EncodeBase64(bytes) + R"("})");
  ASSERT_EQ(r.status, 201) << r.Describe();
  EXPECT_TRUE(r.json.at("payload").is_null());
  EXPECT_EQ(Str(r.json, "payload_base64"), api::EncodeBase64(bytes));
  HttpResult got = Get("/api/v1/jobs/" + Str(r.json, "id"));
  EXPECT_EQ(Str(got.json, "payload_base64"), api::EncodeBase64(bytes));
}

TEST_F(SubmitRoute, DuplicateUniqueKeyAnswers200WithTheFirstJob) {
  HttpResult first = Post("/api/v1/jobs", R"({"name":"charge","unique_key":"invoice-9"})");
  ASSERT_EQ(first.status, 201) << first.Describe();
  int64_t keys = DbSize();
  HttpResult second = Post("/api/v1/jobs", R"({"name":"charge","unique_key":"invoice-9"})");
  ASSERT_EQ(second.status, 200) << second.Describe();
  EXPECT_EQ(Str(second.json, "id"), Str(first.json, "id"));
  EXPECT_TRUE(second.json.at("duplicate").as_bool());
  EXPECT_EQ(DbSize(), keys);
  EXPECT_EQ(Cli({"LLEN", "bananas:{default}:pending:normal"}), "1");
}

// Every way a submit body can be wrong: 400 naming the field, and nothing written.
TEST_F(SubmitRoute, RefusesEachBadFieldNamingItAndWritesNothing) {
  struct Case {
    std::string body;
    std::string code;
    std::string field;
  };
  const std::vector<Case> cases = {
      {R"({"name":)", "invalid_json", ""},
      {R"(not json)", "invalid_json", ""},
      {R"([1,2])", "invalid_field", ""},
      {R"({})", "missing_field", "name"},
      {R"({"payload":{}})", "missing_field", "name"},
      {R"({"name":"bad name"})", "invalid_field", "name"},
      {R"({"name":""})", "invalid_field", "name"},
      {R"({"name":")" + std::string(129, 'a') + R"("})", "invalid_field", "name"},
      {R"({"name":7})", "invalid_field", "name"},
      {R"({"name":"x","priority":"urgent"})", "invalid_field", "priority"},
      {R"({"name":"x","priority":1})", "invalid_field", "priority"},
      {R"({"name":"x","queue":"a b"})", "invalid_field", "queue"},
      {R"({"name":"x","queue":"{tag}"})", "invalid_field", "queue"},
      {R"({"name":"x","queue":"a:b"})", "invalid_field", "queue"},
      {R"({"name":"x","queue":")" + std::string(65, 'q') + R"("})", "invalid_field", "queue"},
      {R"({"name":"x","max_retries":101})", "invalid_field", "max_retries"},
      {R"({"name":"x","max_retries":-1})", "invalid_field", "max_retries"},
      {R"({"name":"x","max_retries":2.5})", "invalid_field", "max_retries"},
      {R"({"name":"x","max_retries":"3"})", "invalid_field", "max_retries"},
      {R"({"name":"x","timeout_ms":-1})", "invalid_field", "timeout_ms"},
      {R"({"name":"x","timeout_ms":2592000001})", "invalid_field", "timeout_ms"},
      {R"({"name":"x","run_at":"tomorrow"})", "invalid_field", "run_at"},
      {R"({"name":"x","run_at":"2025-02-30T00:00:00Z"})", "invalid_field", "run_at"},
      {R"({"name":"x","run_at":"2025-01-01T00:00:00Z","delay_ms":5})", "invalid_field", "delay_ms"},
      {R"({"name":"x","delay_ms":-5})", "invalid_field", "delay_ms"},
      {R"({"name":"x","unique_ttl_ms":1000})", "invalid_field", "unique_ttl_ms"},
      {R"({"name":"x","unique_key":""})", "invalid_field", "unique_key"},
      {R"({"name":"x","description":")" + std::string(1025, 'd') + R"("})", "invalid_field",
       "description"},
      {R"({"name":"x","payload":1,"payload_base64":"AA=="})", "invalid_field", "payload_base64"},
      {R"({"name":"x","payload_base64":"not base64!"})", "invalid_field", "payload_base64"},
      {R"({"name":"x","priorty":"high"})", "unknown_field", "priorty"},
  };
  const int64_t keys = DbSize();
  for (const Case& c : cases) {
    HttpResult r = Post("/api/v1/jobs", c.body);
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r.Describe();
    EXPECT_EQ(r.ErrorCode(), c.code) << c.body << " -> " << r.Describe();
    EXPECT_EQ(r.ErrorField(), c.field) << c.body << " -> " << r.Describe();
    // The field is always present in an error body, null when no field is at fault.
    ASSERT_TRUE(r.json.is_object()) << r.body;
    EXPECT_TRUE(r.json.at("error").as_object().contains("field")) << r.body;
    EXPECT_FALSE(Str(r.json.at("error"), "message").empty()) << r.body;
  }
  EXPECT_EQ(DbSize(), keys);
}

class BatchRoute : public SubmitRoute {};

TEST_F(BatchRoute, StoresEveryJobInOrder) {
  HttpResult r = Post("/api/v1/jobs/batch", R"({"jobs":[{"name":"a"},{"name":"b","queue":"other"},
      {"name":"c","priority":"low"}]})");
  ASSERT_EQ(r.status, 201) << r.Describe();
  const auto& ids = r.json.at("ids").as_array();
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(broker_->GetJob(std::string(ids[0].as_string()))->name, "a");
  EXPECT_EQ(broker_->GetJob(std::string(ids[1].as_string()))->name, "b");
  EXPECT_EQ(Cli({"LRANGE", "bananas:{default}:pending:low", "0", "-1"}),
            std::string(ids[2].as_string()));
  EXPECT_EQ(r.json.at("duplicates").as_array().size(), 3u);
}

TEST_F(BatchRoute, OneBadJobRejectsTheBatchAndWritesNothing) {
  const int64_t keys = DbSize();
  HttpResult r = Post("/api/v1/jobs/batch", R"({"jobs":[{"name":"a"},{"name":"b"},
      {"name":"c","priority":"urgent"},{"name":"d"}]})");
  EXPECT_EQ(r.status, 400) << r.Describe();
  EXPECT_EQ(r.ErrorField(), "jobs[2].priority");
  EXPECT_EQ(DbSize(), keys);

  for (const auto& [body, field] : std::vector<std::pair<std::string, std::string>>{
           {R"({"jobs":[]})", "jobs"},
           {R"({})", "jobs"},
           {R"({"jobs":{"name":"a"}})", "jobs"},
           {R"({"jobs":[{"name":"a"}],"extra":1})", "extra"},
           {R"({"jobs":[{"name":"a"},7]})", "jobs[1]"},
           {R"({"jobs":[{"name":"a"},{"queue":"x"}]})", "jobs[1].name"}}) {
    HttpResult bad = Post("/api/v1/jobs/batch", body);
    EXPECT_EQ(bad.status, 400) << body << " -> " << bad.Describe();
    EXPECT_EQ(bad.ErrorField(), field) << body << " -> " << bad.Describe();
  }
  std::string many = R"({"jobs":[)";
  for (int i = 0; i < 1001; ++i) many += std::string(i ? "," : "") + R"({"name":"n"})";
  many += "]}";
  HttpResult too_many = Post("/api/v1/jobs/batch", many);
  EXPECT_EQ(too_many.status, 400) << too_many.Describe();
  EXPECT_EQ(too_many.ErrorField(), "jobs");
  EXPECT_EQ(DbSize(), keys);
}

class GetJobRoute : public SubmitRoute {};

TEST_F(GetJobRoute, UnknownOrMalformedIdIs404) {
  for (const std::string id : {"nonsense", "01ARZ3NDEKTSV4RRFFQ69G5FAV-default",
                               "01ARZ3NDEKTSV4RRFFQ69G5FAV-%7Bx%7D", "batch"}) {
    HttpResult r = Get("/api/v1/jobs/" + id);
    EXPECT_EQ(r.status, 404) << id << " -> " << r.Describe();
    EXPECT_EQ(r.ErrorCode(), "not_found");
    HttpResult result = Get("/api/v1/jobs/" + id + "/result");
    EXPECT_EQ(result.status, 404) << id << " -> " << result.Describe();
    HttpResult cancel = Post("/api/v1/jobs/" + id + "/cancel");
    EXPECT_EQ(cancel.status, 404) << id << " -> " << cancel.Describe();
  }
}

TEST_F(GetJobRoute, CompletedJobShowsResultAndTimes) {
  const std::string id = SeedCompleted();
  HttpResult r = Get("/api/v1/jobs/" + id);
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(Str(r.json, "state"), "completed");
  EXPECT_EQ(Str(r.json, "result"), "done");  // not JSON: echoed as a string
  EXPECT_FALSE(Str(r.json, "started_at").empty());
  EXPECT_FALSE(Str(r.json, "finished_at").empty());
  EXPECT_EQ(r.json.at("attempts").as_int64(), 1);
}

class CancelRoute : public SubmitRoute {};

TEST_F(CancelRoute, PendingJobIsCancelledAndLeavesItsQueue) {
  HttpResult submitted = Post("/api/v1/jobs", R"({"name":"x"})");
  const std::string id = Str(submitted.json, "id");
  HttpResult r = Post("/api/v1/jobs/" + id + "/cancel");
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(Str(r.json, "outcome"), "cancelled");
  EXPECT_EQ(Str(r.json.at("job"), "state"), "cancelled");
  EXPECT_EQ(StateOf(id), "cancelled");
  // Out of the queue's depth at once (its id leaves the list when a dequeue reaches it).
  HttpResult queues = Get("/api/v1/queues");
  ASSERT_EQ(queues.status, 200) << queues.Describe();
  EXPECT_EQ(boost::json::serialize(queues.json.at("queues").at(0).at("pending")),
            R"({"high":0,"normal":0,"low":0})");
  EXPECT_TRUE(broker_->Dequeue({"default", 10, {}, {}})->empty());
  // A second cancel: already terminal.
  HttpResult again = Post("/api/v1/jobs/" + id + "/cancel");
  EXPECT_EQ(again.status, 409) << again.Describe();
  EXPECT_EQ(again.ErrorCode(), "conflict");
}

TEST_F(CancelRoute, ActiveJobGetsCancellationRequested) {
  HttpResult submitted = Post("/api/v1/jobs", R"({"name":"x"})");
  const std::string id = Str(submitted.json, "id");
  auto leased = broker_->Dequeue({"default", 1, {}, {}});
  ASSERT_OK(leased);
  ASSERT_EQ(leased->size(), 1u);
  HttpResult r = Post("/api/v1/jobs/" + id + "/cancel");
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(Str(r.json, "outcome"), "cancellation_requested");
  EXPECT_EQ(StateOf(id), "active");
  EXPECT_TRUE(broker_->GetJob(id)->cancel_requested);
}

TEST_F(CancelRoute, FinishedJobIs409AndUnchanged) {
  const std::string id = SeedCompleted();
  HttpResult r = Post("/api/v1/jobs/" + id + "/cancel");
  EXPECT_EQ(r.status, 409) << r.Describe();
  EXPECT_EQ(r.ErrorCode(), "conflict");
  EXPECT_EQ(StateOf(id), "completed");
}

class ResultRoute : public SubmitRoute {
 protected:
  std::unique_ptr<Worker> StartWorker() {
    WorkerOptions o;
    o.redis_url = Server().url();
    o.concurrency = 2;
    auto worker = Worker::Create(o);
    EXPECT_OK(worker);
    if (!worker) return nullptr;
    EXPECT_OK((*worker)->RegisterBuiltins());
    EXPECT_OK((*worker)->Start());
    return std::move(*worker);
  }

  // The result_waits gauge of /metrics, read on a connection of its own.
  int64_t WaitsInProgress() {
    HttpClient other(server_->port());
    HttpResult r = other.Send(boost::beast::http::verb::get, "/metrics");
    const std::string key = "\nbananas_api_result_waits ";
    size_t at = r.body.find(key);
    if (at == std::string::npos) return -1;
    return std::stoll(r.body.substr(at + key.size()));
  }
};

TEST_F(ResultRoute, WaitRunsOutWith202AndTheCurrentJob) {
  HttpResult submitted = Post("/api/v1/jobs", R"({"name":"echo"})");
  const std::string id = Str(submitted.json, "id");
  HttpResult r = Get("/api/v1/jobs/" + id + "/result?wait_ms=200");
  EXPECT_EQ(r.status, 202) << r.Describe();
  EXPECT_EQ(Str(r.json, "state"), "pending");
  EXPECT_EQ(WaitsInProgress(), 0);
  // wait_ms=0 (the default) answers at once.
  HttpResult now = Get("/api/v1/jobs/" + id + "/result");
  EXPECT_EQ(now.status, 202) << now.Describe();
}

TEST_F(ResultRoute, JobCompletingDuringTheWaitAnswers200) {
  HttpResult submitted = Post("/api/v1/jobs", R"({"name":"echo","payload":{"hello":"world"}})");
  const std::string id = Str(submitted.json, "id");
  // The long-poll is in progress (subscribed) before any worker exists.
  auto waiting = std::async(std::launch::async, [&] {
    HttpClient own(server_->port());
    return own.Send(boost::beast::http::verb::get, "/api/v1/jobs/" + id + "/result?wait_ms=30000");
  });
  ASSERT_TRUE(WaitFor([&] { return WaitsInProgress() == 1; }));
  std::unique_ptr<Worker> worker = StartWorker();
  ASSERT_NE(worker, nullptr);
  HttpResult r = waiting.get();
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(Str(r.json, "state"), "completed");
  EXPECT_EQ(json::serialize(r.json.at("result")), R"({"hello":"world"})");
  worker->Stop();
  worker->Wait();
}

TEST_F(ResultRoute, FinishedJobAnswers200AtOnce) {
  const std::string id = SeedCompleted();
  HttpResult r = Get("/api/v1/jobs/" + id + "/result?wait_ms=60000");
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(Str(r.json, "state"), "completed");
}

TEST_F(ResultRoute, RefusesBadWaitAndUnknownParameters) {
  const std::string id = SeedCompleted();
  for (const std::string query : {"wait_ms=60001", "wait_ms=-1", "wait_ms=soon"}) {
    HttpResult r = Get("/api/v1/jobs/" + id + "/result?" + query);
    EXPECT_EQ(r.status, 400) << query << " -> " << r.Describe();
    EXPECT_EQ(r.ErrorField(), "wait_ms");
  }
  HttpResult unknown = Get("/api/v1/jobs/" + id + "/result?wait=100");
  EXPECT_EQ(unknown.status, 400) << unknown.Describe();
  EXPECT_EQ(unknown.ErrorCode(), "unknown_field");
  EXPECT_EQ(unknown.ErrorField(), "wait");
}

TEST_F(ResultRoute, ManyWaitsOnOneJobAllEnd) {
  HttpResult submitted = Post("/api/v1/jobs", R"({"name":"noop"})");
  const std::string id = Str(submitted.json, "id");
  std::vector<std::future<HttpResult>> waits;
  for (int i = 0; i < 5; ++i) {
    waits.push_back(std::async(std::launch::async, [&] {
      HttpClient own(server_->port());
      return own.Send(boost::beast::http::verb::get,
                      "/api/v1/jobs/" + id + "/result?wait_ms=30000");
    }));
  }
  ASSERT_TRUE(WaitFor([&] { return WaitsInProgress() == 5; }));
  HttpResult cancelled = Post("/api/v1/jobs/" + id + "/cancel");
  ASSERT_EQ(cancelled.status, 200) << cancelled.Describe();
  for (auto& w : waits) {
    HttpResult r = w.get();
    EXPECT_EQ(r.status, 200) << r.Describe();
    EXPECT_EQ(Str(r.json, "state"), "cancelled");
  }
}

}  // namespace
}  // namespace bananas::testing
