// The routes of SPEC §6: the table, matching, and one handler per route.
//
// Handlers are coroutines on the session's strand. They validate everything first (400
// naming the field), then hand Redis work to the RedisExecutor or the Waiter and resume with
// the outcome; none of them blocks its thread.
//
// Thread safety: a Routes object is shared by every session; its members are thread-safe.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_error.h"
#include "api/redis_executor.h"
#include "api/router.h"
#include "api/submit_request.h"
#include "api/waiter.h"

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
namespace bananas::obs {
class Metrics;
}

namespace bananas::api {

// The HTTP server's own counters. Rendered into the process's registry by a collector that
// holds them through a weak_ptr, so a scrape after the server stopped is harmless.
struct ApiCounters {
  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> responses_2xx{0};
  std::atomic<int64_t> responses_4xx{0};
  std::atomic<int64_t> responses_5xx{0};
  std::atomic<int64_t> jobs_submitted{0};
  std::atomic<int64_t> connections_open{0};
};

struct RoutesOptions {
  std::string token;  // empty: no authentication
  SubmitDefaults defaults;
};

class Routes {
 public:
  // Every reference must outlive the Routes object.
  Routes(RoutesOptions options, RedisExecutor& executor, Waiter& waiter,
         const std::atomic<bool>& redis_ready, ApiCounters& counters, obs::Metrics& metrics);

  // The answer to one request; never throws (a handler's exception becomes a 500).
  boost::asio::awaitable<Response> Handle(const Request& request);

  // A response with a JSON body, or the error body of SPEC §6.
  static Response Json(unsigned status, std::string body);
  static Response Error(const ApiError& error);

 private:
  using Params = std::vector<std::string>;
  boost::asio::awaitable<Response> Dispatch(const Route& route, const Params& params,
                                            const Request& request, const Query& query);
  bool Authorized(const Request& request) const;

  boost::asio::awaitable<Response> Submit(const Request& request);
  boost::asio::awaitable<Response> SubmitBatch(const Request& request);
  boost::asio::awaitable<Response> GetJob(const std::string& id);
  boost::asio::awaitable<Response> JobResult(const std::string& id, const Query& query);
  boost::asio::awaitable<Response> CancelJob(const std::string& id);
  boost::asio::awaitable<Response> Queues();
  boost::asio::awaitable<Response> PauseQueue(const std::string& name, bool pause);
  boost::asio::awaitable<Response> ListDead(const Query& query);
  boost::asio::awaitable<Response> RetryDead(const std::string& id, bool purge);
  boost::asio::awaitable<Response> BulkDead(const Query& query, bool purge);
  boost::asio::awaitable<Response> Workers();
  boost::asio::awaitable<Response> RedisReport();
  // The registry's text plus this server's live gauges; rendered on a Redis thread, since
  // the queue-depth collector may read Redis.
  boost::asio::awaitable<Response> Metrics();
  boost::asio::awaitable<Response> ListSchedules();
  // POST (create: 201, 409 if the id is taken) and PUT (create or replace: 201 or 200).
  boost::asio::awaitable<Response> PutSchedule(const Request& request, const std::string& path_id);
  boost::asio::awaitable<Response> GetSchedule(const std::string& id);
  boost::asio::awaitable<Response> DeleteSchedule(const std::string& id);
  boost::asio::awaitable<Response> PauseSchedule(const std::string& id, bool pause);
  boost::asio::awaitable<Response> TriggerSchedule(const std::string& id);

  const RoutesOptions options_;
  RedisExecutor& executor_;
  Waiter& waiter_;
  const std::atomic<bool>& redis_ready_;
  ApiCounters& counters_;
  obs::Metrics& metrics_;
};

}  // namespace bananas::api
