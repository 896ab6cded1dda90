// RunHttpEnqueue: POST /api/v1/jobs (one job a request) or /api/v1/jobs/batch (bulk_chunk
// jobs a request) over `http_connections` keep-alive connections, one blocking Beast client
// per thread. Every connection is open before the clock starts; the clock stops when the
// last response is read. A response other than 200/201 counts as an error.
//
// Note: the jobs land in queue "bench-http" of whatever Redis that API server uses; nothing
// here can delete them (no worker serves that queue unless one is started for it).
#include <atomic>
#include <barrier>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <mutex>
#include <thread>

#include "bench/scenarios.h"

namespace bananas::bench {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr std::string_view kJobJson = R"({"name":"bench.noop","queue":"bench-http","payload":{}})";

struct Endpoint {
  std::string host;
  std::string port;
};

Result<Endpoint> ParseApiUrl(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || parsed->scheme() != "http" || parsed->host().empty()) {
    return Status::InvalidArgument("--api: \"" + url + "\" is not an http://host:port URL");
  }
  Endpoint endpoint;
  endpoint.host = std::string(parsed->host());
  endpoint.port = parsed->has_port() ? std::string(parsed->port()) : "80";
  return endpoint;
}

std::string BatchBody(int64_t jobs) {
  std::string body = R"({"jobs":[)";
  for (int64_t i = 0; i < jobs; ++i) {
    if (i > 0) body += ',';
    body += kJobJson;
  }
  body += "]}";
  return body;
}

// One connection's share of the work. Errors are values: a thread never throws out.
class HttpSender {
 public:
  HttpSender(const Endpoint& endpoint, const BenchOptions& options)
      : endpoint_(endpoint), options_(options), socket_(io_) {}

  Status Open() {
    boost::system::error_code ec;
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(endpoint_.host, endpoint_.port, ec);
    if (!ec) asio::connect(socket_, results, ec);
    if (ec) {
      return Status::Unavailable("--api: cannot connect to " + endpoint_.host + ":" +
                                 endpoint_.port + ": " + ec.message());
    }
    socket_.set_option(tcp::no_delay(true), ec);
    return Status::Ok();
  }

  // Sends `requests` requests: one job each, or (bulk) batches of `jobs_per_request`.
  Status Send(bool bulk, int64_t requests, int64_t jobs_per_request, int64_t* errors) {
    http::request<http::string_body> request{http::verb::post,
                                             bulk ? "/api/v1/jobs/batch" : "/api/v1/jobs", 11};
    request.set(http::field::host, endpoint_.host);
    request.set(http::field::content_type, "application/json");
    request.keep_alive(true);
    if (!options_.api_token.empty()) {
      request.set(http::field::authorization, "Bearer " + options_.api_token);
    }
    request.body() = bulk ? BatchBody(jobs_per_request) : std::string(kJobJson);
    request.prepare_payload();
    boost::beast::flat_buffer buffer;
    for (int64_t i = 0; i < requests; ++i) {
      boost::system::error_code ec;
      http::write(socket_, request, ec);
      http::response<http::string_body> response;
      if (!ec) http::read(socket_, buffer, response, ec);
      if (ec) return Status::Unavailable("--api: " + ec.message());
      const unsigned code = response.result_int();
      if (code != 200 && code != 201) ++*errors;
      if (code == 401) return Status::FailedPrecondition("--api: 401: set BANANAS_API_TOKEN");
    }
    return Status::Ok();
  }

 private:
  const Endpoint endpoint_;
  const BenchOptions& options_;
  asio::io_context io_;
  tcp::socket socket_;
};

}  // namespace

Result<EnqueueResult> RunHttpEnqueue(const BenchOptions& options, bool bulk) {
  auto endpoint = ParseApiUrl(options.api_url);
  if (!endpoint) return endpoint.status();
  const int connections = std::max(1, options.http_connections);
  const int64_t per_request = bulk ? std::max(1, options.bulk_chunk) : 1;
  const int64_t total_jobs = bulk ? options.jobs : options.single_jobs;
  const int64_t requests = std::max<int64_t>(1, total_jobs / per_request);

  std::vector<std::unique_ptr<HttpSender>> senders;
  for (int i = 0; i < connections; ++i) {
    senders.push_back(std::make_unique<HttpSender>(*endpoint, options));
    BANANAS_RETURN_IF_ERROR(senders.back()->Open());
  }
  // The clock starts when every thread is ready; each thread sends its share.
  std::barrier ready(connections + 1);
  std::mutex mu;
  Status failure;
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < connections; ++i) {
    int64_t share = requests / connections + (i < requests % connections ? 1 : 0);
    threads.emplace_back([&, i, share] {
      ready.arrive_and_wait();
      int64_t my_errors = 0;
      Status sent = senders[static_cast<size_t>(i)]->Send(bulk, share, per_request, &my_errors);
      errors += my_errors;
      if (!sent.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (failure.ok()) failure = sent;
      }
    });
  }
  ready.arrive_and_wait();
  auto start = std::chrono::steady_clock::now();
  for (std::thread& thread : threads) thread.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!failure.ok()) return failure;

  EnqueueResult result;
  result.mode = bulk ? "http bulk" : "http single";
  result.api = bulk ? "POST /api/v1/jobs/batch, " + std::to_string(per_request) + " jobs a request"
                    : "POST /api/v1/jobs, one job a request";
  result.jobs = requests * per_request;
  result.connections = connections;
  result.seconds = seconds;
  result.errors = errors.load();
  return result;
}

}  // namespace bananas::bench
