#include "api/router.h"

#include <boost/beast/http/verb.hpp>
#include <boost/url/parse.hpp>

namespace bananas::api {
namespace http = boost::beast::http;

namespace {

const std::vector<Route> kRoutes = {
    {RouteId::kSubmit, http::verb::post, "/api/v1/jobs"},
    {RouteId::kSubmitBatch, http::verb::post, "/api/v1/jobs/batch"},
    {RouteId::kGetJob, http::verb::get, "/api/v1/jobs/{id}"},
    {RouteId::kJobResult, http::verb::get, "/api/v1/jobs/{id}/result"},
    {RouteId::kCancelJob, http::verb::post, "/api/v1/jobs/{id}/cancel"},
    {RouteId::kQueues, http::verb::get, "/api/v1/queues"},
    {RouteId::kPauseQueue, http::verb::post, "/api/v1/queues/{name}/pause"},
    {RouteId::kResumeQueue, http::verb::post, "/api/v1/queues/{name}/resume"},
    {RouteId::kListDead, http::verb::get, "/api/v1/dlq"},
    {RouteId::kRetryAllDead, http::verb::post, "/api/v1/dlq/retry"},
    {RouteId::kRetryDead, http::verb::post, "/api/v1/dlq/{id}/retry"},
    {RouteId::kPurgeDead, http::verb::delete_, "/api/v1/dlq/{id}"},
    {RouteId::kPurgeAllDead, http::verb::delete_, "/api/v1/dlq"},
    {RouteId::kWorkers, http::verb::get, "/api/v1/workers"},
    {RouteId::kRedis, http::verb::get, "/api/v1/redis"},
    {RouteId::kListSchedules, http::verb::get, "/api/v1/schedules"},
    {RouteId::kCreateSchedule, http::verb::post, "/api/v1/schedules"},
    {RouteId::kGetSchedule, http::verb::get, "/api/v1/schedules/{id}"},
    {RouteId::kPutSchedule, http::verb::put, "/api/v1/schedules/{id}"},
    {RouteId::kDeleteSchedule, http::verb::delete_, "/api/v1/schedules/{id}"},
    {RouteId::kPauseSchedule, http::verb::post, "/api/v1/schedules/{id}/pause"},
    {RouteId::kResumeSchedule, http::verb::post, "/api/v1/schedules/{id}/resume"},
    {RouteId::kTriggerSchedule, http::verb::post, "/api/v1/schedules/{id}/trigger"},
    {RouteId::kOpenApi, http::verb::get, "/api/v1/openapi.json"},
    {RouteId::kHealthz, http::verb::get, "/healthz"},
    {RouteId::kReadyz, http::verb::get, "/readyz"},
    {RouteId::kMetrics, http::verb::get, "/metrics"},
};

std::vector<std::string_view> SplitPattern(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool Matches(std::string_view pattern, const std::vector<std::string>& segments,
             std::vector<std::string>& params) {
  std::vector<std::string_view> parts = SplitPattern(pattern);
  if (parts.size() != segments.size()) return false;
  std::vector<std::string> found;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].starts_with('{')) {
      if (segments[i].empty()) return false;
      found.push_back(segments[i]);
    } else if (parts[i] != segments[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

}  // namespace

const std::vector<Route>& RouteTable() { return kRoutes; }

ApiResult<Target> ParseTarget(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    return ApiError{400, "bad_request", "the request target is not a valid path and query", {}};
  }
  Target out;
  for (auto segment : url->segments()) out.segments.emplace_back(segment);
  if (out.segments.empty()) out.segments.emplace_back();
  for (auto param : url->params()) out.query.emplace_back(param.key, param.value);
  return out;
}

RouteMatch MatchRoute(http::verb method, const std::vector<std::string>& segments) {
  RouteMatch match;
  std::vector<std::string> params;
  for (const Route& route : kRoutes) {
    if (!Matches(route.path, segments, params)) continue;
    if (route.method == method) {
      match.route = &route;
      match.params = std::move(params);
      return match;
    }
    if (!match.allow.empty()) match.allow += ", ";
    match.allow += std::string(http::to_string(route.method));
  }
  return match;
}

}  // namespace bananas::api
