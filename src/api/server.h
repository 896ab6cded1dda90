// ApiServer: `bananas api`, the HTTP API of SPEC §6 on Boost.Beast.
//
// Map of the module (src/api/):
//   server.{h,cc}          listener, sessions (one coroutine per connection, HTTP/1.1
//                          keep-alive), the I/O threads, readiness probe, start and stop
//   routes.{h,cc}          the route table and one handler per route
//   submit_request.{h,cc}  validation of submit bodies and query parameters (I/O-free)
//   job_json.{h,cc}        the job as JSON; time_format, base64: its pieces
//   redis_executor.{h,cc}  the bounded pool of Redis threads; submissions merged per batch
//   waiter.{h,cc}          long-polls on job results: one subscriber, no polling
//   await.h                from those threads' callbacks back into the session coroutines
//   openapi.{h,cc}         the OpenAPI 3 document of the routes
// Adding a route: a row in RouteTable() (routes.cc), its handler, its path in openapi.cc,
// a test in tests/integration/api/ and a section in docs/API.md. The OpenAPI test fails
// until the route table and the document agree.
//
// Threads: Options::io_threads run the io_context (HTTP only; never a Redis call), the
// RedisExecutor's threads do Redis work, one Waiter thread holds long-polls, one probe
// thread PINGs Redis for /readyz.
//
// Thread safety: Start() and Stop() from one thread; port() from any.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "bananas/status.h"

namespace bananas::obs {
class Metrics;
}

namespace bananas::api {

struct ApiOptions {
  std::string redis_url = "redis://127.0.0.1:6379/0";  // REDIS_URL
  std::string prefix = "bananas";                      // BANANAS_PREFIX
  std::string bind = "0.0.0.0";
  int port = 8080;  // API_PORT; 0 picks a free port (see ApiServer::port())
  // BANANAS_API_TOKEN: when set, every /api route needs "Authorization: Bearer <token>".
  std::string token;
  int64_t max_body = 1 << 20;   // API_MAX_BODY (bytes); larger bodies get 413
  int default_max_retries = 3;  // MAX_RETRIES, for jobs that do not say
  // RESULT_TTL_FAILURE: how long a job cancelled through the API is kept.
  std::chrono::milliseconds result_ttl_failure{std::chrono::hours(24 * 7)};

  // Performance and bounds. Defaults suit one small host; change them when measuring.
  int io_threads = 2;                 // threads parsing HTTP; never blocked on Redis
  int redis_threads = 2;              // concurrent Redis round trips (each its own connection)
  size_t redis_queue_limit = 10'000;  // Redis tasks waiting; beyond: 503
  size_t max_submit_batch = 256;      // submissions merged into one enqueue script call
  size_t max_waits = 1000;            // concurrent long-polls; beyond: 503
  // Deadline for reading one request (headers and body), idle keep-alive time included.
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  // On Stop(): how long requests already being handled get to finish.
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(5)};
  // The process's registry: /metrics renders it, submissions and cancellations are counted
  // in it, Redis round trips recorded. Null: the server keeps a registry of its own.
  std::shared_ptr<obs::Metrics> metrics;
};

class ApiServer {
 public:
  // Binds the port and starts serving. Redis need not be up: /readyz answers 503 and /api
  // routes 503 until it is. InvalidArgument for bad options; Unavailable when the port
  // cannot be bound (the message names it).
  [[nodiscard]] static Result<std::unique_ptr<ApiServer>> Start(const ApiOptions& options);
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;
  ~ApiServer();  // Stop()s

  // The bound port (the chosen one when options.port was 0).
  int port() const;
  // Stops accepting, answers running long-polls (503), lets requests being handled finish
  // within shutdown_grace, then closes every connection and joins every thread.
  void Stop();

 private:
  class Impl;
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bananas::api
