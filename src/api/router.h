// The route table of SPEC §6 and request-target parsing: which handler a method and path
// reach. I/O-free (the fuzzer drives it without sockets); the handlers are in routes.h.
//
// Thread safety: pure functions over a constant table.
#pragma once

#include <boost/beast/http/verb.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/api_error.h"

namespace bananas::api {

// Query parameters, decoded, in order.
using Query = std::vector<std::pair<std::string, std::string>>;

enum class RouteId {
  kSubmit,
  kSubmitBatch,
  kGetJob,
  kJobResult,
  kCancelJob,
  kQueues,
  kPauseQueue,
  kResumeQueue,
  kListDead,
  kRetryAllDead,
  kRetryDead,
  kPurgeDead,
  kPurgeAllDead,
  kWorkers,
  kRedis,
  kListSchedules,
  kCreateSchedule,
  kGetSchedule,
  kPutSchedule,
  kDeleteSchedule,
  kPauseSchedule,
  kResumeSchedule,
  kTriggerSchedule,
  kOpenApi,
  kHealthz,
  kReadyz,
  kMetrics,
};

struct Route {
  RouteId id;
  boost::beast::http::verb method;
  std::string_view path;  // segments; "{name}" matches one segment
};

// Every route served, in the order docs/API.md lists them. If you add one, add its path to
// openapi.cc (a test compares the two).
const std::vector<Route>& RouteTable();

struct RouteMatch {
  const Route* route = nullptr;     // null: no route
  std::vector<std::string> params;  // the {…} segments, decoded, in order
  std::string allow;                // no route for the method, but for the path: "GET, POST"
};
// Matches the decoded path segments of a request ("/api/v1/jobs" is {"api", "v1", "jobs"})
// against the table.
RouteMatch MatchRoute(boost::beast::http::verb method, const std::vector<std::string>& segments);

struct Target {
  std::vector<std::string> segments;  // decoded; "/" is {""}
  Query query;
};
// Splits a request target (origin form: path and query). 400 bad_request when it is not one.
ApiResult<Target> ParseTarget(std::string_view target);

}  // namespace bananas::api
