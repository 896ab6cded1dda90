#include "api/server.h"

#include <pthread.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "api/routes.h"
#include "obs/metrics.h"
#include "redis/connection.h"

namespace bananas::api {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// Request line and headers together; beyond this a request is refused with 431.
constexpr uint32_t kHeaderLimit = 16 * 1024;
// After a 413 the rest of the body is read and dropped (bounded in time and size) so that
// the client reads the answer instead of a reset connection.
constexpr std::chrono::seconds kDrainTime{2};
constexpr size_t kDrainBytes = 64 * 1024 * 1024;
// How often /readyz's probe PINGs Redis.
constexpr std::chrono::seconds kProbeInterval{1};

void LogError(const std::string& what) {
  std::fprintf(stderr, "bananas api: %s\n", what.c_str());
  std::fflush(stderr);
}

std::string RandomHex(size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device device;
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    unsigned v = device() & 0xff;
    out += kHex[v >> 4];
    out += kHex[v & 15];
  }
  return out;
}

void CollectApiCounters(const ApiCounters& counters, obs::Exposition& out) {
  auto load = [](const std::atomic<int64_t>& v) { return v.load(std::memory_order_relaxed); };
  out.Family("bananas_api_requests_total", "HTTP requests read by this API server.", "counter");
  out.Sample("bananas_api_requests_total", {}, load(counters.requests));
  out.Family("bananas_api_responses_total", "HTTP responses by status class.", "counter");
  out.Sample("bananas_api_responses_total", {{"class", "2xx"}}, load(counters.responses_2xx));
  out.Sample("bananas_api_responses_total", {{"class", "4xx"}}, load(counters.responses_4xx));
  out.Sample("bananas_api_responses_total", {{"class", "5xx"}}, load(counters.responses_5xx));
  out.Family("bananas_api_connections", "HTTP connections open.", "gauge");
  out.Sample("bananas_api_connections", {}, load(counters.connections_open));
}

}  // namespace

class ApiServer::Impl {
 public:
  explicit Impl(const ApiOptions& options)
      : options_(options), work_(asio::make_work_guard(io_)), acceptor_(io_) {}

  Status Start() {
    RedisExecutor::Options executor_options;
    executor_options.redis_url = options_.redis_url;
    executor_options.broker.prefix = options_.prefix;
    executor_options.broker.result_ttl_failure_ms = options_.result_ttl_failure.count();
    executor_options.threads = options_.redis_threads;
    executor_options.queue_limit = options_.redis_queue_limit;
    executor_options.max_submit_batch = options_.max_submit_batch;
    metrics_ = options_.metrics != nullptr ? options_.metrics : std::make_shared<obs::Metrics>();
    executor_options.metrics = metrics_;
    std::weak_ptr<ApiCounters> weak_counters = counters_;
    metrics_->AddCollector([weak_counters](obs::Exposition& out) {
      if (auto counters = weak_counters.lock()) CollectApiCounters(*counters, out);
    });
    auto executor = RedisExecutor::Start(executor_options);
    if (!executor) return executor.status();
    executor_ = std::move(*executor);

    Waiter::Options waiter_options;
    waiter_options.redis_url = options_.redis_url;
    waiter_options.broker = executor_options.broker;
    waiter_options.max_waits = options_.max_waits;
    // A pub/sub channel, not a key: it stores nothing.
    waiter_options.wake_channel = options_.prefix + ":api:waiter:" + RandomHex(8) + ":wake";
    RedisExecutor* executor_ptr = executor_.get();
    std::string wake_channel = waiter_options.wake_channel;
    auto waiter = Waiter::Start(waiter_options, [executor_ptr, wake_channel] {
      bool queued = executor_ptr->Post([wake_channel](RedisExecutor::Context* c) {
        if (c == nullptr) return;
        auto r = c->connection.Run(redis::Command("SPUBLISH").Arg(wake_channel).Arg("1"));
        // A lost wake-up costs latency, not correctness: the Waiter reads again within
        // Waiter::kMaxBlock.
        if (!r) LogError("waking the result waiter: " + r.status().ToString());
      });
      if (!queued) LogError("waking the result waiter: the Redis queue is full");
    });
    if (!waiter) return waiter.status();
    waiter_ = std::move(*waiter);

    auto probe_options = redis::Options::FromUrl(options_.redis_url);
    if (!probe_options) return probe_options.status();
    probe_options->reconnect_max =
        std::min<std::chrono::milliseconds>(probe_options->reconnect_max, kProbeInterval);
    auto probe = redis::Connection::Open(*probe_options);
    if (!probe) return probe.status();
    probe_connection_ = std::move(*probe);

    RoutesOptions routes_options;
    routes_options.token = options_.token;
    routes_options.defaults.max_retries = options_.default_max_retries;
    routes_ =
        std::make_unique<Routes>(routes_options, *executor_, *waiter_, redis_ready_,
                                           *counters_, *metrics_);

    boost::system::error_code ec;
    auto address = asio::ip::make_address(options_.bind, ec);
    if (ec)
      return Status::InvalidArgument("API bind address \"" + options_.bind + "\": " + ec.message());
    tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
    std::string where = options_.bind + ":" + std::to_string(options_.port);
    if (acceptor_.open(endpoint.protocol(), ec); ec) {
      return Status::Unavailable("API_PORT: cannot open a socket for " + where + ": " +
                                 ec.message());
    }
    if (acceptor_.set_option(asio::socket_base::reuse_address(true), ec); ec) {
      return Status::Unavailable("API_PORT: " + where + ": " + ec.message());
    }
    if (acceptor_.bind(endpoint, ec); ec) {
      return Status::Unavailable("API_PORT: cannot listen on " + where + ": " + ec.message());
    }
    if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec) {
      return Status::Unavailable("API_PORT: cannot listen on " + where + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();

    probe_thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "api-probe");
      Probe();
    });
    asio::co_spawn(io_, Listen(), [](std::exception_ptr e) { LogIfThrown(e, "listener"); });
    for (int i = 0; i < std::max(options_.io_threads, 1); ++i) {
      io_threads_.emplace_back([this] {
        pthread_setname_np(pthread_self(), "api-io");
        io_.run();
      });
    }
    return Status::Ok();
  }

  int port() const { return port_; }

  void Stop() {
    if (stopped_.exchange(true)) return;
    stopping_.store(true);
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
    });
    // Long-polls end first (503): they would otherwise hold the grace period.
    if (waiter_) waiter_->Stop();
    {
      std::unique_lock<std::mutex> lock(mu_);
      idle_.wait_for(lock, options_.shutdown_grace, [this] { return in_flight_ == 0; });
    }
    // Idle keep-alive connections and anything past the grace are dropped here.
    io_.stop();
    for (std::thread& t : io_threads_) t.join();
    io_threads_.clear();
    if (executor_) executor_->Stop();
    {
      std::lock_guard<std::mutex> lock(mu_);
      probe_stop_ = true;
    }
    probe_wake_.notify_all();
    if (probe_thread_.joinable()) probe_thread_.join();
  }

 private:
  static void LogIfThrown(std::exception_ptr e, const char* what) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& error) {
      LogError(std::string(what) + ": " + error.what());
    }
  }

  // Marks one request in progress (header read, answer not yet written) for Stop()'s grace.
  class InFlight {
   public:
    explicit InFlight(Impl& impl) : impl_(impl) {
      std::lock_guard<std::mutex> lock(impl_.mu_);
      ++impl_.in_flight_;
    }
    ~InFlight() {
      std::lock_guard<std::mutex> lock(impl_.mu_);
      if (--impl_.in_flight_ == 0) impl_.idle_.notify_all();
    }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

   private:
    Impl& impl_;
  };

  asio::awaitable<void> Listen() {
    while (true) {
      // Each connection on its own strand: a session's operations never run concurrently.
      // (Named, not a temporary in the co_await: see await.h.)
      auto strand = asio::make_strand(io_);
      auto [ec, socket] = co_await acceptor_.async_accept(strand, kUseTuple);
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      if (ec) {
        // EMFILE and friends: keep serving the connections we have.
        LogError("accept: " + ec.message());
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto executor = socket.get_executor();
      asio::co_spawn(executor, Session(beast::tcp_stream(std::move(socket))),
                     [](std::exception_ptr e) { LogIfThrown(e, "session"); });
    }
  }

  static Response Plain(http::status status, const ApiError& error) {
    Response response = Routes::Error(error);
    response.result(status);
    response.keep_alive(false);
    return response;
  }

  // One connection: read a request, answer it, until the peer closes, a deadline passes, an
  // answer says close, or the server stops.
  asio::awaitable<void> Session(beast::tcp_stream stream) {
    counters_->connections_open.fetch_add(1, std::memory_order_relaxed);
    beast::flat_buffer buffer;
    while (true) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(static_cast<uint64_t>(options_.max_body));
      stream.expires_after(options_.read_timeout);
      auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kUseTuple);
      if (ec == http::error::body_limit) {
        // Content-Length over the limit: refused before a byte of the body is read.
        co_await RefuseTooLarge(stream, buffer);
        break;
      }
      if (ec) {
        std::optional<Response> refusal;
        if (ec == http::error::header_limit) {
          refusal = Plain(http::status::request_header_fields_too_large,
                          {431, "headers_too_large", "request headers exceed 16 KiB", {}});
        } else if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
                   ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
                   ec != asio::error::eof && (n > 0 || buffer.size() > 0)) {
          refusal = Plain(http::status::bad_request,
                          {400, "bad_request", "malformed HTTP request: " + ec.message(), {}});
        }
        if (refusal) co_await WriteFinal(stream, std::move(*refusal));
        break;
      }
      InFlight in_flight(*this);
      const auto& header = parser.get();
      auto expect = header.find(http::field::expect);
      if (expect != header.end() && beast::iequals(expect->value(), "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, header.version()};
        stream.expires_after(options_.write_timeout);
        auto [wec, wn] = co_await http::async_write(stream, go_on, kUseTuple);
        if (wec) break;
      }
      if (!parser.is_done()) {
        stream.expires_after(options_.read_timeout);
        auto [bec, bn] = co_await http::async_read(stream, buffer, parser, kUseTuple);
        if (bec == http::error::body_limit) {
          co_await RefuseTooLarge(stream, buffer);
          break;
        }
        if (bec) break;
      }
      Request request = parser.release();
      Response response = co_await routes_->Handle(request);
      bool keep_alive = request.keep_alive() && response.keep_alive() && !stopping_.load();
      response.keep_alive(keep_alive);
      stream.expires_after(options_.write_timeout);
      auto [wec, wn] = co_await http::async_write(stream, response, kUseTuple);
      if (wec || !keep_alive) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.close();
    counters_->connections_open.fetch_sub(1, std::memory_order_relaxed);
  }

  asio::awaitable<void> WriteFinal(beast::tcp_stream& stream, Response response) {
    stream.expires_after(options_.write_timeout);
    auto [ec, n] = co_await http::async_write(stream, response, kUseTuple);
    (void)n;  // the connection closes next whatever the outcome
    (void)ec;
  }

  asio::awaitable<void> RefuseTooLarge(beast::tcp_stream& stream, beast::flat_buffer& buffer) {
    Response refusal =
        Plain(http::status::payload_too_large,
              {413,
               "payload_too_large",
               "the body exceeds API_MAX_BODY (" + std::to_string(options_.max_body) + " bytes)",
               {}});
    co_await WriteFinal(stream, std::move(refusal));
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    buffer.clear();
    size_t drained = 0;
    stream.expires_after(kDrainTime);
    while (drained < kDrainBytes) {
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(64 * 1024), kUseTuple);
      if (ec) break;
      drained += n;
    }
  }

  // Keeps redis_ready_ current for /readyz: a PING every kProbeInterval on its own
  // connection (a reconnect follows that connection's backoff, capped at kProbeInterval).
  void Probe() {
    while (true) {
      auto reply = probe_connection_->Run(redis::Command("PING"));
      redis_ready_.store(reply.ok() && !reply->is_error(), std::memory_order_release);
      std::unique_lock<std::mutex> lock(mu_);
      if (probe_wake_.wait_for(lock, kProbeInterval, [this] { return probe_stop_; })) return;
    }
  }

  const ApiOptions options_;
  // Destroyed last to first: io_ (and the sessions it holds) before routes_, the waiter and
  // the executor they point to; the waiter before the executor its wake-ups use.
  std::unique_ptr<RedisExecutor> executor_;
  std::unique_ptr<Waiter> waiter_;
  std::unique_ptr<redis::Connection> probe_connection_;  // Only on probe_thread_.
  std::unique_ptr<Routes> routes_;
  std::atomic<bool> redis_ready_{false};
  std::shared_ptr<ApiCounters> counters_ = std::make_shared<ApiCounters>();
  std::shared_ptr<obs::Metrics> metrics_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  int port_ = 0;

  std::mutex mu_;
  std::condition_variable idle_;        // in_flight_ reached 0
  std::condition_variable probe_wake_;  // probe_stop_ set
  int in_flight_ = 0;                   // Guarded by mu_.
  bool probe_stop_ = false;             // Guarded by mu_.
  std::thread probe_thread_;

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> io_threads_;
};

Result<std::unique_ptr<ApiServer>> ApiServer::Start(const ApiOptions& options) {
  if (options.port < 0 || options.port > 65535) {
    return Status::InvalidArgument("API_PORT: must be from 0 to 65535");
  }
  if (options.max_body < 1) return Status::InvalidArgument("API_MAX_BODY: must be at least 1 byte");
  auto impl = std::make_unique<Impl>(options);
  Status started = impl->Start();
  if (!started.ok()) {
    impl->Stop();
    return started;
  }
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiServer::~ApiServer() { Stop(); }
int ApiServer::port() const { return impl_->port(); }
void ApiServer::Stop() { impl_->Stop(); }

}  // namespace bananas::api
