#include "obs/admin_server.h"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <exception>
#include <map>
#include <set>
#include <thread>

#include "obs/detail/pprof_handlers.h"
#include "obs/profiling.h"

namespace bananas::obs {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kAwaitable = asio::as_tuple(asio::use_awaitable);
// Symbol tables unused for this long are freed; checked every kMaintenanceInterval.
constexpr auto kSymbolizerIdle = std::chrono::seconds(60);
constexpr auto kMaintenanceInterval = std::chrono::seconds(15);
constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; `plus_is_space` for form-encoded query values.
std::string Decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else if (plus_is_space && in[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

AdminResponse PlainText(int status, std::string body) {
  AdminResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

}  // namespace

std::optional<std::string> AdminRequest::Param(std::string_view key) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest.remove_prefix(amp == std::string_view::npos ? rest.size() : amp + 1);
    size_t eq = pair.find('=');
    if (Decode(pair.substr(0, eq), true) != key) continue;
    return eq == std::string_view::npos ? std::string() : Decode(pair.substr(eq + 1), true);
  }
  return std::nullopt;
}

class AdminServer::Impl {
 public:
  explicit Impl(AdminServerOptions options)
      : options_(std::move(options)), pprof_(options_.max_profile_duration) {
    if (options_.handler_threads < 1) options_.handler_threads = 1;
    if (options_.max_connections < 1) options_.max_connections = 1;
    handlers_["/healthz"] = [](const AdminRequest&) { return PlainText(200, "ok"); };
    SetMetricsSource([] { return std::string(); });
  }

  ~Impl() { Stop(); }

  void AddHandler(std::string path, AdminHandler handler) {
    handlers_[std::move(path)] = std::move(handler);
  }

  void SetMetricsSource(std::function<std::string()> render) {
    handlers_["/metrics"] = [render = std::move(render)](const AdminRequest&) {
      AdminResponse response;
      response.content_type = kPrometheusContentType;
      response.body = render();
      return response;
    };
  }

  Status Start(std::string_view bind_address, uint16_t port) {
    if (started_) return Status::FailedPrecondition("admin listener: already started");
    std::string where = std::string(bind_address) + ":" + std::to_string(port);
    boost::system::error_code ec;
    asio::ip::address address = asio::ip::make_address(std::string(bind_address), ec);
    if (ec && bind_address == "localhost") {
      address = asio::ip::address_v4::loopback();
      ec.clear();
    }
    if (ec) {
      return Status::InvalidArgument("admin listener: bind address '" + std::string(bind_address) +
                                     "' is not an IP address");
    }
    tcp::endpoint endpoint(address, port);
    acceptor_.emplace(io_);
    acceptor_->open(endpoint.protocol(), ec);
    if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(endpoint, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      acceptor_.reset();
      return Status::Unavailable("admin listener: cannot listen on " + where + ": " + ec.message());
    }
    port_.store(acceptor_->local_endpoint().port());
    started_ = true;

    asio::co_spawn(io_, AcceptLoop(), [this](std::exception_ptr e) { LogException("accept", e); });
    asio::co_spawn(io_, MaintenanceLoop(),
                   [this](std::exception_ptr e) { LogException("maintenance", e); });
    handler_work_.emplace(handler_io_.get_executor());
    for (int i = 0; i < options_.handler_threads; ++i) {
      handler_threads_.emplace_back([this] {
        RegisterThread("admin-handler");
        handler_io_.run();
      });
    }
    io_thread_ = std::thread([this] {
      RegisterThread("admin-io");
      io_.run();
    });
    return Status::Ok();
  }

  uint16_t port() const { return port_.load(); }

  void Stop() {
    if (!started_ || stopped_) return;
    stopped_ = true;
    stopping_.store(true);
    pprof_.Stop();  // a CPU or delta profile in progress returns now
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_->close(ignored);
      maintenance_timer_.cancel();
      for (beast::tcp_stream* stream : sessions_) stream->socket().close(ignored);
    });
    // io_.run() returns once every session has ended; a session waiting for its handler
    // keeps it running (co_spawn tracks work on the session's executor) until the handler
    // is done, so the handler threads must still run here.
    io_thread_.join();
    handler_work_.reset();
    for (std::thread& t : handler_threads_) t.join();
    handler_threads_.clear();
  }

 private:
  asio::awaitable<void> AcceptLoop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_->async_accept(kAwaitable);
      if (stopping_.load()) co_return;
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        Log("admin listener: accept failed: " + ec.message());
        // Out of file descriptors and the like: pause rather than spin.
        asio::steady_timer pause(io_, std::chrono::milliseconds(100));
        co_await pause.async_wait(kAwaitable);
        continue;
      }
      if (sessions_.size() >= static_cast<size_t>(options_.max_connections)) {
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      asio::co_spawn(io_, Session(std::move(socket)),
                     [this](std::exception_ptr e) { LogException("session", e); });
    }
  }

  asio::awaitable<void> MaintenanceLoop() {
    while (!stopping_.load()) {
      maintenance_timer_.expires_after(kMaintenanceInterval);
      auto [ec] = co_await maintenance_timer_.async_wait(kAwaitable);
      if (ec || stopping_.load()) co_return;
      pprof_.DropIdleState(kSymbolizerIdle);
    }
  }

  // One connection: read a request, run its handler on the pool, write the response; repeat
  // while the client keeps the connection alive. Runs on the I/O thread only.
  asio::awaitable<void> Session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    sessions_.insert(&stream);
    struct Unregister {
      std::set<beast::tcp_stream*>& sessions;
      beast::tcp_stream* stream;
      ~Unregister() { sessions.erase(stream); }
    } unregister{sessions_, &stream};

    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(options_.max_body_bytes);
      stream.expires_after(options_.read_timeout);
      auto [read_error, read_bytes] = co_await http::async_read(stream, buffer, parser, kAwaitable);
      if (read_error == http::error::body_limit) {
        co_await Write(stream, PlainText(413, "request body too large\n"), parser.get().version(),
                       false);
        break;
      }
      if (read_error || stopping_.load()) break;
      http::request<http::string_body> raw = parser.release();

      AdminRequest request;
      request.method = std::string(raw.method_string());
      std::string_view target = raw.target();
      size_t question = target.find('?');
      request.path = Decode(target.substr(0, question), false);
      if (question != std::string_view::npos) request.query = target.substr(question + 1);
      request.body = std::move(raw.body());

      AdminResponse response = co_await asio::co_spawn(
          handler_io_,
          [this, &request]() -> asio::awaitable<AdminResponse> { co_return Dispatch(request); },
          asio::use_awaitable);
      if (request.method == "HEAD") response.body.clear();
      bool keep_alive = raw.keep_alive() && !stopping_.load();
      if (!co_await Write(stream, std::move(response), raw.version(), keep_alive) || !keep_alive) {
        break;
      }
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<bool> Write(beast::tcp_stream& stream, AdminResponse response, unsigned version,
                              bool keep_alive) {
    http::response<http::string_body> out{static_cast<http::status>(response.status), version};
    out.set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) out.set(name, value);
    out.keep_alive(keep_alive);
    out.body() = std::move(response.body);
    out.prepare_payload();
    stream.expires_after(options_.write_timeout);
    auto [ec, bytes] = co_await http::async_write(stream, out, kAwaitable);
    co_return !ec;
  }

  AdminResponse Dispatch(const AdminRequest& request) {
    if (request.method != "GET" && request.method != "POST" && request.method != "HEAD") {
      return PlainText(405, "method not allowed\n");
    }
    try {
      if (auto it = handlers_.find(request.path); it != handlers_.end()) {
        return it->second(request);
      }
      if (request.path == "/debug/pprof") {  // as Go's ServeMux redirects a subtree root
        AdminResponse redirect = PlainText(301, "");
        redirect.headers.emplace_back("Location", "/debug/pprof/");
        return redirect;
      }
      if (request.path.starts_with("/debug/pprof/")) return pprof_.Serve(request);
      return PlainText(404, "404 page not found\n");
    } catch (const std::exception& e) {
      // A registered handler threw; the listener stays up and the client learns why.
      return PlainText(500, std::string("internal error: ") + e.what() + "\n");
    }
  }

  void Log(const std::string& message) {
    if (options_.log) {
      options_.log(message);
    } else {
      std::fprintf(stderr, "%s\n", message.c_str());
    }
  }

  void LogException(const char* what, std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      Log(std::string("admin listener: ") + what + " failed: " + ex.what());
    }
  }

  AdminServerOptions options_;
  // Fixed after Start.
  std::map<std::string, AdminHandler, std::less<>> handlers_;
  detail::PprofHandlers pprof_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint16_t> port_{0};
  // Owner thread only.
  bool started_ = false;
  bool stopped_ = false;
  // Only on the I/O thread.
  std::set<beast::tcp_stream*> sessions_;
  asio::io_context io_{1};
  asio::io_context handler_io_;
  asio::steady_timer maintenance_timer_{io_};  // Only on the I/O thread.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> handler_work_;
  std::optional<tcp::acceptor> acceptor_;
  std::thread io_thread_;
  std::vector<std::thread> handler_threads_;
};

AdminServer::AdminServer(AdminServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

AdminServer::~AdminServer() = default;

void AdminServer::AddHandler(std::string path, AdminHandler handler) {
  impl_->AddHandler(std::move(path), std::move(handler));
}

void AdminServer::SetMetricsSource(std::function<std::string()> render) {
  impl_->SetMetricsSource(std::move(render));
}

Status AdminServer::Start(std::string_view bind_address, uint16_t port) {
  return impl_->Start(bind_address, port);
}

uint16_t AdminServer::port() const { return impl_->port(); }

void AdminServer::Stop() { impl_->Stop(); }

}  // namespace bananas::obs
