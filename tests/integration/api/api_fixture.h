// Fixture for the HTTP API tests: one real redis-server per test binary, flushed before each
// test; an ApiServer on a free port, started per test with options the test may change
// first; a small synchronous HTTP/1.1 client (Beast) that keeps its connection alive; and a
// Broker plus raw commands to seed jobs and to check every key a request must (or must not)
// touch.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/server.h"
#include "base/clock.h"
#include "queue/broker.h"
#include "redis/connection.h"
#include "redis_server.h"
#include "test_util.h"

namespace bananas::testing {

struct HttpResult {
  int status = 0;
  std::string body;
  boost::json::value json;  // null unless the body is JSON
  std::map<std::string, std::string> headers;
  bool keep_alive = false;

  // error.code / error.field of an error body ("" when absent or null).
  std::string ErrorCode() const { return Text("code"); }
  std::string ErrorField() const { return Text("field"); }
  std::string Describe() const { return std::to_string(status) + " " + body; }

 private:
  std::string Text(const char* key) const {
    if (!json.is_object()) return "";
    const auto* error = json.as_object().if_contains("error");
    if (error == nullptr || !error->is_object()) return "";
    const auto* v = error->as_object().if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
  }
};

// One keep-alive connection. Connects on first use and again after the server closed it;
// reconnects() tells how many times that happened.
class HttpClient {
 public:
  explicit HttpClient(int port) : port_(port), stream_(io_) {}

  HttpResult Send(boost::beast::http::verb method, const std::string& target,
                  const std::string& body = "",
                  const std::map<std::string, std::string>& headers = {}) {
    namespace http = boost::beast::http;
    HttpResult result;
    if (!connected_) Connect();
    http::request<http::string_body> request{method, target, 11};
    request.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) request.set(name, value);
    if (!body.empty() || method == http::verb::post || method == http::verb::put) {
      request.set(http::field::content_type, "application/json");
      request.body() = body;
    }
    request.prepare_payload();
    boost::system::error_code ec;
    stream_.expires_after(std::chrono::seconds(90));
    http::write(stream_, request, ec);
    if (ec) {
      ADD_FAILURE() << "write: " << ec.message();
      connected_ = false;
      return result;
    }
    http::response<http::string_body> response;
    http::read(stream_, buffer_, response, ec);
    if (ec) {
      ADD_FAILURE() << "read: " << ec.message();
      connected_ = false;
      return result;
    }
    result.status = static_cast<int>(response.result_int());
    result.body = response.body();
    result.keep_alive = response.keep_alive();
    for (const auto& field : response) {
      result.headers[std::string(field.name_string())] = std::string(field.value());
    }
    boost::system::error_code json_error;
    auto parsed = boost::json::parse(result.body, json_error);
    if (!json_error) result.json = std::move(parsed);
    if (!result.keep_alive) {
      stream_.close();
      connected_ = false;
    }
    return result;
  }

  // Raw bytes out, then one response in (for requests a well-behaved client cannot make).
  HttpResult SendRaw(const std::string& bytes) {
    namespace http = boost::beast::http;
    if (!connected_) Connect();
    boost::system::error_code ec;
    stream_.expires_after(std::chrono::seconds(30));
    boost::asio::write(stream_, boost::asio::buffer(bytes), ec);
    HttpResult result;
    if (ec) return result;
    http::response<http::string_body> response;
    http::read(stream_, buffer_, response, ec);
    if (ec) {
      connected_ = false;
      return result;
    }
    result.status = static_cast<int>(response.result_int());
    result.body = response.body();
    result.keep_alive = response.keep_alive();
    boost::system::error_code json_error;
    auto parsed = boost::json::parse(result.body, json_error);
    if (!json_error) result.json = std::move(parsed);
    if (!result.keep_alive) {
      stream_.close();
      connected_ = false;
    }
    return result;
  }

  int connects() const { return connects_; }

 private:
  void Connect() {
    boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                            static_cast<unsigned short>(port_));
    if (stream_.socket().is_open()) stream_.close();
    buffer_.clear();
    stream_.connect(endpoint);
    connected_ = true;
    ++connects_;
  }

  int port_;
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
  int connects_ = 0;
};

class ApiTest : public ::testing::Test {
 protected:
  static RedisServer& Server() {
    static std::unique_ptr<RedisServer> server = [] {
      auto s = RedisServer::Start();
      if (!s) {
        ADD_FAILURE() << s.status().ToString();
        std::abort();
      }
      return std::move(*s);
    }();
    return *server;
  }

  void SetUp() override {
    Server().Cli({"FLUSHALL"});
    options_.redis_url = Server().url();
    options_.port = 0;
    options_.bind = "127.0.0.1";
    auto options = redis::Options::FromUrl(Server().url());
    ASSERT_OK(options);
    auto connection = redis::Connection::Open(*options);
    ASSERT_OK(connection);
    connection_ = std::move(*connection);
    broker_ = std::make_unique<queue::Broker>(*connection_, queue::BrokerOptions{});
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  // Starts the API with options_ (change them first); the client connects to it.
  void StartApi() {
    auto server = api::ApiServer::Start(options_);
    ASSERT_OK(server);
    server_ = std::move(*server);
    client_ = std::make_unique<HttpClient>(server_->port());
  }

  HttpResult Get(const std::string& target) {
    return client_->Send(boost::beast::http::verb::get, target);
  }
  HttpResult Post(const std::string& target, const std::string& body = "") {
    return client_->Send(boost::beast::http::verb::post, target, body);
  }
  HttpResult Delete(const std::string& target) {
    return client_->Send(boost::beast::http::verb::delete_, target);
  }

  // Keys in the database: the "nothing was written" check.
  int64_t DbSize() { return std::stoll(Server().Cli({"DBSIZE"})); }
  // The job's state name as the Broker reads it, "notfound" when there is none.
  std::string StateOf(const std::string& id) {
    auto job = broker_->GetJob(id);
    return job.ok() ? std::string(JobStateName(job->state)) : "notfound";
  }
  std::string Cli(const std::vector<std::string>& args) { return Server().Cli(args); }

  static std::string Str(const boost::json::value& v, const char* key) {
    const auto* field = v.is_object() ? v.as_object().if_contains(key) : nullptr;
    return field != nullptr && field->is_string() ? std::string(field->as_string()) : "";
  }

  // A job that has run and completed (through the broker, as a worker would).
  std::string SeedCompleted(const std::string& queue = "default") {
    JobSpec spec;
    spec.name = "noop";
    spec.queue = queue;
    auto enqueued = broker_->Enqueue(spec);
    EXPECT_OK(enqueued);
    auto leased = broker_->Dequeue({queue, 1, {}, {}});
    EXPECT_OK(leased);
    EXPECT_EQ(leased->size(), 1u);
    auto acked = broker_->Ack(queue, {{enqueued->id, leased->front().token, "done"}});
    EXPECT_OK(acked);
    return enqueued->id;
  }

  // A job in the DLQ after one failed run that was not to be retried.
  std::string SeedDead(const std::string& queue = "default", const std::string& name = "fail") {
    JobSpec spec;
    spec.name = name;
    spec.queue = queue;
    spec.max_retries = 0;
    auto enqueued = broker_->Enqueue(spec);
    EXPECT_OK(enqueued);
    auto leased = broker_->Dequeue({queue, 1, {}, {}});
    EXPECT_OK(leased);
    EXPECT_EQ(leased->size(), 1u);
    queue::Failure failure;
    failure.id = enqueued->id;
    failure.token = leased->front().token;
    failure.error = "boom";
    auto failed = broker_->Fail(queue, failure);
    EXPECT_OK(failed);
    EXPECT_EQ(failed->kind, queue::FailOutcome::Kind::kDead);
    return enqueued->id;
  }

  api::ApiOptions options_;
  std::unique_ptr<api::ApiServer> server_;
  std::unique_ptr<HttpClient> client_;
  std::unique_ptr<redis::Connection> connection_;
  std::unique_ptr<queue::Broker> broker_;
};

}  // namespace bananas::testing
