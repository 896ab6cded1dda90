// AdminServer: the admin HTTP listener every Bananas service runs on its pprof port.
//
// It serves, Go-compatible (net/http/pprof paths, headers, errors and text formats):
//   /debug/pprof/                index (HTML), as Go's
//   /debug/pprof/profile         CPU profile, ?seconds=N (default 30), 100 Hz per thread
//   /debug/pprof/heap, /allocs   jemalloc heap samples (inuse_* / alloc_* by default)
//   /debug/pprof/goroutine       stacks of all threads; ?debug=1 grouped text, ?debug=2 each
//   /debug/pprof/mutex, /block   ProfiledMutex contention
//   /debug/pprof/threadcreate    thread count (no creation stacks)
//   /debug/pprof/symbol          symbolz, GET and POST
//   /debug/pprof/cmdline         the command line, NUL-separated
//   /healthz                     200 "ok"
//   /metrics                     the text SetMetricsSource renders (default: empty)
// plus whatever AddHandler registers. Profiles are gzipped profile.proto with function
// names, files and lines filled in, so `go tool pprof` shows C++ names with no symbol server.
//
// Threads: one I/O thread accepts connections and runs one coroutine session per connection;
// handlers run on a separate pool (options.handler_threads), so a 30 s CPU profile holds one
// handler thread and nothing else (pprof-design.md P9). A second concurrent CPU profile is
// refused as Go refuses it: 500, X-Go-Pprof: 1, "Could not enable CPU profiling: cpu
// profiling already in use".
//
// Security: the endpoints expose internals (stacks, command line, memory contents by
// address), so bind to 127.0.0.1, the default, unless the port is otherwise protected.
//
// Thread safety: AddHandler and SetMetricsSource before Start; Start, Stop and port() from
// the owning thread. Handlers run concurrently on the pool and must be thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bananas/status.h"

namespace bananas::obs {

struct AdminRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // percent-decoded, without the query: "/debug/pprof/heap"
  std::string query;   // raw, without '?': "seconds=5&debug=1"
  std::string body;

  // The first query parameter named `key`, form-decoded ('+' is a space, %XX a byte);
  // nullopt when absent.
  std::optional<std::string> Param(std::string_view key) const;
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;
};

using AdminHandler = std::function<AdminResponse(const AdminRequest&)>;

struct AdminServerOptions {
  // Threads running handlers. A CPU profile holds one for its whole duration (at most one
  // runs at a time), as does a delta profile (?seconds= on heap, mutex, ...). Default 4.
  int handler_threads = 4;
  // Connections open at once; a connection beyond this is closed on accept.
  int max_connections = 64;
  // Deadline to receive a request, including keep-alive idle time.
  std::chrono::seconds read_timeout{30};
  // Deadline to send a response.
  std::chrono::seconds write_timeout{60};
  // Largest request body accepted (symbol lookups POST addresses); larger gets 413.
  std::size_t max_body_bytes = 1 << 20;
  // Longest ?seconds= accepted for CPU and delta profiles; longer gets 400, as Go refuses a
  // profile longer than its server's WriteTimeout.
  std::chrono::seconds max_profile_duration{600};
  // Where the server reports I/O failures it cannot return to a client (e.g. a failed
  // accept). Default: one line on stderr.
  std::function<void(std::string_view message)> log;
};

class AdminServer {
 public:
  // Registers /healthz, /metrics and /debug/pprof/*; starts nothing.
  explicit AdminServer(AdminServerOptions options = {});
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;
  // Stops if running.
  ~AdminServer();

  // Serves `path` (exact match, no query) with `handler`, replacing any earlier handler of
  // that path, built-in ones included. REQUIRES: not started.
  void AddHandler(std::string path, AdminHandler handler);

  // /metrics answers `render()` with Prometheus' text content type
  // ("text/plain; version=0.0.4; charset=utf-8"). REQUIRES: not started.
  void SetMetricsSource(std::function<std::string()> render);

  // Binds bind_address:port (port 0 picks a free port; see port()) and starts the threads.
  // InvalidArgument for an address that does not parse; Unavailable when the port cannot be
  // bound (in use, no permission), naming address and port; FailedPrecondition if started.
  [[nodiscard]] Status Start(std::string_view bind_address = "127.0.0.1", uint16_t port = 0);

  // The bound port; 0 before Start.
  uint16_t port() const;

  // Closes the listener and every connection, stops a CPU profile in progress (its request
  // gets 503), waits for running handlers, and joins the threads. Idempotent.
  void Stop();

 private:
  class Impl;  // keeps Boost.Asio and Beast out of this header
  std::unique_ptr<Impl> impl_;
};

}  // namespace bananas::obs
