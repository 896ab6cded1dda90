#include "api/routes.h"

#include <boost/beast/http/field.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <exception>
#include <optional>

#include "api/await.h"
#include "api/job_json.h"
#include "api/openapi.h"
#include "api/redis_report_json.h"
#include "obs/metrics.h"
#include "redis/self_check.h"
#include "api/schedule_json.h"
#include "queue/schedule_store.h"
#include "api/time_format.h"
#include "base/clock.h"
#include "base/job_id.h"

namespace bananas::api {
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

// 400 unknown_field for a query parameter the route does not take.
std::optional<ApiError> CheckQuery(const Query& query,
                                   std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : query) {
    bool known = false;
    for (std::string_view a : allowed) known = known || key == a;
    if (!known) return ApiError::UnknownField(key);
  }
  return std::nullopt;
}

std::optional<std::string> QueryValue(const Query& query, std::string_view key) {
  for (const auto& [k, v] : query) {
    if (k == key) return v;
  }
  return std::nullopt;
}

// An integer query parameter with a default.
ApiResult<int64_t> QueryInteger(const Query& query, std::string_view key, int64_t fallback,
                                int64_t min, int64_t max) {
  auto text = QueryValue(query, key);
  if (!text) return fallback;
  return ParseQueryInteger(key, *text, min, max);
}

// The optional queue parameter: empty when absent, else a valid queue name.
ApiResult<std::string> QueryQueue(const Query& query) {
  auto text = QueryValue(query, "queue");
  if (!text) return std::string();
  Status valid = ValidateQueueName(*text);
  if (!valid.ok()) {
    std::string message = valid.message();
    return ApiError::InvalidField("queue", message.substr(message.find(": ") + 2));
  }
  return *text;
}

// Compares without an early exit, so the time taken does not tell how many leading bytes of
// a guess were right. (It does tell the token's length, which is not secret enough to hide.)
bool ConstantTimeEquals(std::string_view given, std::string_view secret) {
  volatile unsigned char diff = given.size() == secret.size() ? 0 : 1;
  for (size_t i = 0; i < secret.size(); ++i) {
    unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff = diff | (g ^ static_cast<unsigned char>(secret[i]));
  }
  return diff == 0;
}

bool IsTerminal(JobState state) {
  return state == JobState::kCompleted || state == JobState::kFailed ||
         state == JobState::kCancelled;
}

std::string Serialize(const json::value& v) { return json::serialize(v); }

}  // namespace

Routes::Routes(RoutesOptions options, RedisExecutor& executor, Waiter& waiter,
               const std::atomic<bool>& redis_ready, ApiCounters& counters,
               obs::Metrics& metrics)
    : options_(std::move(options)),
      executor_(executor),
      waiter_(waiter),
      redis_ready_(redis_ready),
      counters_(counters),
      metrics_(metrics) {}

Response Routes::Json(unsigned status, std::string body) {
  Response response{static_cast<http::status>(status), 11};
  response.set(http::field::server, "bananas");
  response.set(http::field::content_type, "application/json");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

Response Routes::Error(const ApiError& error) {
  Response response = Json(static_cast<unsigned>(error.http_status), ErrorBody(error));
  if (error.http_status == 401) response.set(http::field::www_authenticate, "Bearer");
  if (error.http_status == 503) response.set(http::field::retry_after, "1");
  return response;
}

bool Routes::Authorized(const Request& request) const {
  if (options_.token.empty()) return true;
  auto header = request.find(http::field::authorization);
  if (header == request.end()) return false;
  std::string_view value(header->value().data(), header->value().size());
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return false;
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return ConstantTimeEquals(value, options_.token);
}

boost::asio::awaitable<Response> Routes::Handle(const Request& request) {
  counters_.requests.fetch_add(1, std::memory_order_relaxed);
  std::optional<Response> response;
  try {
    auto target = ParseTarget(std::string_view(request.target().data(), request.target().size()));
    if (!target.ok()) {
      response = Error(target.error());
    } else {
      const std::vector<std::string>& segments = target->segments;
      RouteMatch match = MatchRoute(request.method(), segments);
      if (segments.front() == "api" && !Authorized(request)) {
        response = Error({401,
                          "unauthorized",
                          options_.token.empty() ? "" : "missing or wrong bearer token",
                          {}});
      } else if (match.route == nullptr && !match.allow.empty()) {
        response = Error({405,
                          "method_not_allowed",
                          std::string(http::to_string(request.method())) + " is not allowed here",
                          {}});
        response->set(http::field::allow, match.allow);
      } else if (match.route == nullptr) {
        response = Error(ApiError::NotFound(
            "no route for " + std::string(http::to_string(request.method())) + " " +
            std::string(request.target().data(), request.target().size())));
      } else {
        response = co_await Dispatch(*match.route, match.params, request, target->query);
      }
    }
  } catch (const std::exception& e) {
    // Handlers report errors as values; this catches only what a library threw.
    response = Error({500, "internal", std::string("unexpected: ") + e.what(), {}});
  }
  unsigned status = response->result_int();
  if (status < 300) {
    counters_.responses_2xx.fetch_add(1, std::memory_order_relaxed);
  } else if (status >= 500) {
    counters_.responses_5xx.fetch_add(1, std::memory_order_relaxed);
  } else if (status >= 400) {
    counters_.responses_4xx.fetch_add(1, std::memory_order_relaxed);
  }
  co_return std::move(*response);
}

boost::asio::awaitable<Response> Routes::Dispatch(const Route& route, const Params& params,
                                                  const Request& request, const Query& query) {
  // Query parameters each route takes; any other is refused (a typo must not be ignored).
  std::optional<ApiError> bad_query;
  switch (route.id) {
    case RouteId::kJobResult:
      bad_query = CheckQuery(query, {"wait_ms"});
      break;
    case RouteId::kListDead:
      bad_query = CheckQuery(query, {"queue", "limit", "offset"});
      break;
    case RouteId::kRetryAllDead:
    case RouteId::kPurgeAllDead:
      bad_query = CheckQuery(query, {"queue", "limit"});
      break;
    default:
      bad_query = CheckQuery(query, {});
      break;
  }
  if (bad_query) co_return Error(*bad_query);

  switch (route.id) {
    case RouteId::kSubmit:
      co_return co_await Submit(request);
    case RouteId::kSubmitBatch:
      co_return co_await SubmitBatch(request);
    case RouteId::kGetJob:
      co_return co_await GetJob(params[0]);
    case RouteId::kJobResult:
      co_return co_await JobResult(params[0], query);
    case RouteId::kCancelJob:
      co_return co_await CancelJob(params[0]);
    case RouteId::kQueues:
      co_return co_await Queues();
    case RouteId::kPauseQueue:
      co_return co_await PauseQueue(params[0], true);
    case RouteId::kResumeQueue:
      co_return co_await PauseQueue(params[0], false);
    case RouteId::kListDead:
      co_return co_await ListDead(query);
    case RouteId::kRetryAllDead:
      co_return co_await BulkDead(query, false);
    case RouteId::kRetryDead:
      co_return co_await RetryDead(params[0], false);
    case RouteId::kPurgeDead:
      co_return co_await RetryDead(params[0], true);
    case RouteId::kPurgeAllDead:
      co_return co_await BulkDead(query, true);
    case RouteId::kWorkers:
      co_return co_await Workers();
    case RouteId::kRedis:
      co_return co_await RedisReport();
    case RouteId::kListSchedules:
      co_return co_await ListSchedules();
    case RouteId::kCreateSchedule:
      co_return co_await PutSchedule(request, std::string());
    case RouteId::kPutSchedule:
      co_return co_await PutSchedule(request, params[0]);
    case RouteId::kGetSchedule:
      co_return co_await GetSchedule(params[0]);
    case RouteId::kDeleteSchedule:
      co_return co_await DeleteSchedule(params[0]);
    case RouteId::kPauseSchedule:
      co_return co_await PauseSchedule(params[0], true);
    case RouteId::kResumeSchedule:
      co_return co_await PauseSchedule(params[0], false);
    case RouteId::kTriggerSchedule:
      co_return co_await TriggerSchedule(params[0]);
    case RouteId::kOpenApi:
      co_return Json(200, std::string(OpenApiDocument()));
    case RouteId::kHealthz:
      co_return Json(200, R"({"status":"ok"})");
    case RouteId::kReadyz:
      if (redis_ready_.load(std::memory_order_acquire))
        co_return Json(200, R"({"status":"ready"})");
      co_return Error({503, "unavailable", "Redis does not answer PING yet", {}});
    case RouteId::kMetrics:
      co_return co_await Metrics();
  }
  co_return Error({500, "internal", "route without a handler", {}});
}

boost::asio::awaitable<Response> Routes::Submit(const Request& request) {
  auto body = ParseJsonBody(request.body());
  if (!body.ok()) co_return Error(body.error());
  auto spec = ParseJobSpec(*body, options_.defaults, NowUnixMs());
  if (!spec.ok()) co_return Error(spec.error());
  using Outcome = Result<RedisExecutor::Submitted>;
  auto start = [this, &spec](std::function<void(Outcome)> done) {
    if (!executor_.PostSubmit(std::move(*spec), done)) {
      done(Status::Unavailable("api: too many requests waiting for Redis"));
    }
  };
  Outcome submitted = co_await AwaitCallback<Outcome>(std::move(start));
  if (!submitted) co_return Error(ErrorFromStatus(submitted.status()));
  counters_.jobs_submitted.fetch_add(submitted->duplicate ? 0 : 1, std::memory_order_relaxed);
  if (!submitted->duplicate) {
    metrics_.Jobs(submitted->job.queue, submitted->job.name).Add(obs::JobEvent::kSubmitted);
  }
  json::object job = JobToJson(submitted->job);
  job["duplicate"] = submitted->duplicate;
  Response response = Json(submitted->duplicate ? 200 : 201, Serialize(job));
  response.set(http::field::location, "/api/v1/jobs/" + submitted->job.id);
  co_return response;
}

boost::asio::awaitable<Response> Routes::SubmitBatch(const Request& request) {
  auto body = ParseJsonBody(request.body());
  if (!body.ok()) co_return Error(body.error());
  // Every job is checked before anything is sent: one bad job, nothing written.
  auto specs = ParseBatch(*body, options_.defaults, NowUnixMs());
  if (!specs.ok()) co_return Error(specs.error());
  using Outcome = Result<std::vector<queue::EnqueueResult>>;
  std::vector<std::pair<std::string, std::string>> series;  // (queue, name) per job
  series.reserve(specs->size());
  for (const JobSpec& spec : *specs) series.emplace_back(spec.queue, spec.name);
  auto work = [specs = std::move(*specs)](RedisExecutor::Context& c) -> Outcome {
    return c.broker.EnqueueBatch(specs);
  };
  Outcome results = co_await OnRedis<Outcome>(executor_, std::move(work));
  if (!results) co_return Error(ErrorFromStatus(results.status()));
  json::array ids;
  json::array duplicates;
  int64_t fresh = 0;
  for (size_t i = 0; i < results->size(); ++i) {
    const queue::EnqueueResult& r = (*results)[i];
    ids.emplace_back(r.id);
    duplicates.emplace_back(r.duplicate);
    fresh += r.duplicate ? 0 : 1;
    if (!r.duplicate && i < series.size()) {
      metrics_.Jobs(series[i].first, series[i].second).Add(obs::JobEvent::kSubmitted);
    }
  }
  counters_.jobs_submitted.fetch_add(fresh, std::memory_order_relaxed);
  json::object out;
  out["ids"] = std::move(ids);
  out["duplicates"] = std::move(duplicates);
  co_return Json(201, Serialize(out));
}

boost::asio::awaitable<Response> Routes::GetJob(const std::string& text) {
  auto id = ParseJobId(text);
  if (!id.ok()) co_return Error(id.error());
  using Outcome = Result<Job>;
  auto work = [id = *id](RedisExecutor::Context& c) -> Outcome { return c.broker.GetJob(id); };
  Outcome job = co_await OnRedis<Outcome>(executor_, std::move(work));
  if (!job) co_return Error(ErrorFromStatus(job.status()));
  co_return Json(200, Serialize(JobToJson(*job)));
}

boost::asio::awaitable<Response> Routes::JobResult(const std::string& text, const Query& query) {
  auto id = ParseJobId(text);
  if (!id.ok()) co_return Error(id.error());
  auto wait_ms = QueryInteger(query, "wait_ms", 0, 0, kMaxWaitMs);
  if (!wait_ms.ok()) co_return Error(wait_ms.error());
  using Outcome = Result<Waiter::Outcome>;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(*wait_ms);
  // wait_ms=0 reads the job on a Redis thread; a wait goes to the Waiter.
  auto start = [this, id = *id, deadline, now = *wait_ms == 0](std::function<void(Outcome)> done) {
    if (now) {
      auto read = [id, done](RedisExecutor::Context* c) {
        if (c == nullptr) return done(Status::Unavailable("api: shutting down"));
        auto job = c->broker.GetJob(id);
        if (!job) return done(job.status());
        bool terminal = IsTerminal(job->state);
        done(Waiter::Outcome{std::move(*job), terminal});
      };
      if (!executor_.Post(read))
        done(Status::Unavailable("api: too many requests waiting for Redis"));
    } else if (!waiter_.Add(id, deadline, done)) {
      done(Status::Unavailable("api: too many result waits at once; retry"));
    }
  };
  Outcome outcome = co_await AwaitCallback<Outcome>(std::move(start));
  if (!outcome) co_return Error(ErrorFromStatus(outcome.status()));
  co_return Json(outcome->terminal ? 200 : 202, Serialize(JobToJson(outcome->job)));
}

boost::asio::awaitable<Response> Routes::CancelJob(const std::string& text) {
  auto id = ParseJobId(text);
  if (!id.ok()) co_return Error(id.error());
  struct Answer {
    queue::CancelOutcome outcome;
    std::optional<Job> job;
  };
  using Outcome = Result<Answer>;
  auto work = [id = *id](RedisExecutor::Context& c) -> Outcome {
    auto outcome = c.broker.Cancel(id);
    if (!outcome) return outcome.status();
    Answer a{*outcome, std::nullopt};
    if (*outcome != queue::CancelOutcome::kNotFound) {
      auto job = c.broker.GetJob(id);
      if (job) a.job = std::move(*job);
    }
    return a;
  };
  Outcome answer = co_await OnRedis<Outcome>(executor_, std::move(work));
  if (!answer) co_return Error(ErrorFromStatus(answer.status()));
  if (answer->outcome == queue::CancelOutcome::kCancelled) {
    // The job's type would cost a read the cancel does not need; the queue is in the id.
    metrics_.Jobs(QueueOfJobId(*id), "").Add(obs::JobEvent::kCancelled);
  }
  switch (answer->outcome) {
    case queue::CancelOutcome::kNotFound:
      co_return Error(ApiError::NotFound("job " + *id + ": not found"));
    case queue::CancelOutcome::kTerminal:
      co_return Error({409,
                       "conflict",
                       "job " + *id + " has already ended" +
                           (answer->job ? " (" + std::string(JobStateName(answer->job->state)) + ")"
                                        : std::string()),
                       {}});
    case queue::CancelOutcome::kCancelled:
    case queue::CancelOutcome::kRequested: {
      json::object out;
      out["id"] = *id;
      out["outcome"] = answer->outcome == queue::CancelOutcome::kCancelled
                           ? "cancelled"
                           : "cancellation_requested";
      out["job"] = answer->job ? json::value(JobToJson(*answer->job)) : nullptr;
      co_return Json(200, Serialize(out));
    }
  }
  co_return Error({500, "internal", "unknown cancel outcome", {}});
}

boost::asio::awaitable<Response> Routes::Queues() {
  using Outcome = Result<std::vector<QueueInfo>>;
  auto work = [](RedisExecutor::Context& c) -> Outcome { return c.inspector.Queues(); };
  Outcome queues = co_await OnRedis<Outcome>(executor_, std::move(work));
  if (!queues) co_return Error(ErrorFromStatus(queues.status()));
  json::array list;
  for (const QueueInfo& q : *queues) list.emplace_back(QueueToJson(q));
  json::object out;
  out["queues"] = std::move(list);
  co_return Json(200, Serialize(out));
}

boost::asio::awaitable<Response> Routes::PauseQueue(const std::string& name, bool pause) {
  Status valid = ValidateQueueName(name);
  if (!valid.ok()) {
    co_return Error(
        ApiError::InvalidField("name", valid.message().substr(valid.message().find(": ") + 2)));
  }
  using Outcome = Result<QueueInfo>;
  auto work = [name, pause](RedisExecutor::Context& c) -> Outcome {
    Status done = pause ? c.inspector.Pause(name) : c.inspector.Resume(name);
    if (!done.ok()) return done;
    return c.inspector.Queue(name);
  };
  Outcome queue = co_await OnRedis<Outcome>(executor_, std::move(work));
  if (!queue) co_return Error(ErrorFromStatus(queue.status()));
  co_return Json(200, Serialize(QueueToJson(*queue)));
}

boost::asio::awaitable<Response> Routes::ListDead(const Query& query) {
  auto queue = QueryQueue(query);
  if (!queue.ok()) co_return Error(queue.error());
  auto limit = QueryInteger(query, "limit", 100, 1, Inspector::kMaxPage);
  if (!limit.ok()) co_return Error(limit.error());
  auto offset = QueryInteger(query, "offset", 0, 0, 1'000'000'000);
  if (!offset.ok()) co_return Error(offset.error());
  if (queue->empty() && *offset + *limit > Inspector::kMaxPage) {
    co_return Error(ApiError::InvalidField(
        "offset", "without queue, offset + limit must be at most " +
                      std::to_string(Inspector::kMaxPage) + "; give a queue to page further"));
  }
  using Outcome = Result<DeadJobs>;
  auto work = [queue = *queue, offset = *offset,
               limit = *limit](RedisExecutor::Context& c) -> Outcome {
    return c.inspector.ListDead(queue, offset, limit);
  };
  Outcome page = co_await OnRedis<Outcome>(executor_, std::move(work));
  if (!page) co_return Error(ErrorFromStatus(page.status()));
  json::array jobs;
  for (const Job& job : page->jobs) jobs.emplace_back(JobToJson(job));
  json::object out;
  out["jobs"] = std::move(jobs);
  out["total"] = page->total;
  co_return Json(200, Serialize(out));
}

boost::asio::awaitable<Response> Routes::RetryDead(const std::string& text, bool purge) {
  auto id = ParseJobId(text);
  if (!id.ok()) co_return Error(id.error());
  using Outcome = Result<int64_t>;
  auto work = [id = *id, purge](RedisExecutor::Context& c) -> Outcome {
    Status s = purge ? c.inspector.PurgeDead(id) : c.inspector.RetryDead(id);
    if (!s.ok()) return s;
    return int64_t{1};
  };
  Outcome done = co_await OnRedis<Outcome>(executor_, std::move(work));
  if (!done) co_return Error(ErrorFromStatus(done.status()));
  json::object out;
  out[purge ? "purged" : "retried"] = *done;
  co_return Json(200, Serialize(out));
}

boost::asio::awaitable<Response> Routes::BulkDead(const Query& query, bool purge) {
  auto queue = QueryQueue(query);
  if (!queue.ok()) co_return Error(queue.error());
  auto limit = QueryInteger(query, "limit", Inspector::kMaxBulk, 1, Inspector::kMaxBulk);
  if (!limit.ok()) co_return Error(limit.error());
  using Outcome = Result<int64_t>;
  auto work = [queue = *queue, limit = *limit, purge](RedisExecutor::Context& c) -> Outcome {
    return purge ? c.inspector.PurgeAllDead(queue, limit) : c.inspector.RetryAllDead(queue, limit);
  };
  Outcome done = co_await OnRedis<Outcome>(executor_, std::move(work));
  if (!done) co_return Error(ErrorFromStatus(done.status()));
  json::object out;
  out[purge ? "purged" : "retried"] = *done;
  co_return Json(200, Serialize(out));
}

boost::asio::awaitable<Response> Routes::Workers() {
  using Outcome = Result<std::vector<WorkerInfo>>;
  auto work = [](RedisExecutor::Context& c) -> Outcome { return c.inspector.Workers(); };
  Outcome workers = co_await OnRedis<Outcome>(executor_, std::move(work));
  if (!workers) co_return Error(ErrorFromStatus(workers.status()));
  json::array list;
  for (const WorkerInfo& w : *workers) list.emplace_back(WorkerToJson(w));
  json::object out;
  out["workers"] = std::move(list);
  co_return Json(200, Serialize(out));
}

// --- Cron schedules. Each handler builds a ScheduleStore on its Redis thread's connection.

namespace {

queue::ScheduleStore StoreOn(RedisExecutor::Context& c) {
  return queue::ScheduleStore(c.connection, c.broker.options().prefix);
}

}  // namespace

boost::asio::awaitable<Response> Routes::ListSchedules() {
  using Outcome = Result<std::vector<cron::Schedule>>;
  auto work = [](RedisExecutor::Context& c) -> Outcome { return StoreOn(c).List(); };
  Outcome schedules = co_await OnRedis<Outcome>(executor_, std::move(work));
  if (!schedules) co_return Error(ErrorFromStatus(schedules.status()));
  json::array list;
  for (const cron::Schedule& s : *schedules) list.emplace_back(ScheduleToJson(s));
  json::object out;
  out["schedules"] = std::move(list);
  co_return Json(200, Serialize(out));
}

boost::asio::awaitable<Response> Routes::PutSchedule(const Request& request,
                                                     const std::string& path_id) {
  if (!path_id.empty()) {
    auto id = ParseScheduleId(path_id);
    if (!id.ok()) co_return Error(id.error());
  }
  auto body = ParseJsonBody(request.body());
  if (!body.ok()) co_return Error(body.error());
  auto parsed = ParseScheduleBody(*body, options_.defaults, NowUnixMs(), path_id);
  if (!parsed.ok()) co_return Error(parsed.error());
  struct Answer {
    bool created = false;
    cron::Schedule schedule;
  };
  using Outcome = Result<Answer>;
  const queue::PutMode mode = path_id.empty() ? queue::PutMode::kCreate : queue::PutMode::kUpsert;
  auto work = [parsed = std::move(*parsed), mode](RedisExecutor::Context& c) -> Outcome {
    queue::ScheduleStore store = StoreOn(c);
    auto created = store.Put(parsed.spec, parsed.next_run_unix_ms, mode);
    if (!created) return created.status();
    auto schedule = store.Get(parsed.spec.id);
    if (!schedule) return schedule.status();
    return Answer{*created, std::move(*schedule)};
  };
  Outcome answer = co_await OnRedis<Outcome>(executor_, std::move(work));
  if (!answer) co_return Error(ErrorFromStatus(answer.status()));
  Response response =
      Json(answer->created ? 201 : 200, Serialize(ScheduleToJson(answer->schedule)));
  response.set(http::field::location, "/api/v1/schedules/" + answer->schedule.spec.id);
  co_return response;
}

boost::asio::awaitable<Response> Routes::GetSchedule(const std::string& text) {
  auto id = ParseScheduleId(text);
  if (!id.ok()) co_return Error(id.error());
  using Outcome = Result<cron::Schedule>;
  auto work = [id = *id](RedisExecutor::Context& c) -> Outcome { return StoreOn(c).Get(id); };
  Outcome schedule = co_await OnRedis<Outcome>(executor_, std::move(work));
  if (!schedule) co_return Error(ErrorFromStatus(schedule.status()));
  co_return Json(200, Serialize(ScheduleToJson(*schedule)));
}

boost::asio::awaitable<Response> Routes::DeleteSchedule(const std::string& text) {
  auto id = ParseScheduleId(text);
  if (!id.ok()) co_return Error(id.error());
  using Outcome = Result<bool>;
  auto work = [id = *id](RedisExecutor::Context& c) -> Outcome {
    Status s = StoreOn(c).Delete(id);
    if (!s.ok()) return s;
    return true;
  };
  Outcome done = co_await OnRedis<Outcome>(executor_, std::move(work));
  if (!done) co_return Error(ErrorFromStatus(done.status()));
  json::object out;
  out["deleted"] = *id;
  co_return Json(200, Serialize(out));
}

boost::asio::awaitable<Response> Routes::PauseSchedule(const std::string& text, bool pause) {
  auto id = ParseScheduleId(text);
  if (!id.ok()) co_return Error(id.error());
  using Outcome = Result<cron::Schedule>;
  auto work = [id = *id, pause](RedisExecutor::Context& c) -> Outcome {
    queue::ScheduleStore store = StoreOn(c);
    BANANAS_RETURN_IF_ERROR(pause ? store.Pause(id) : store.ResumeFromNow(id));
    return store.Get(id);
  };
  Outcome schedule = co_await OnRedis<Outcome>(executor_, std::move(work));
  if (!schedule) co_return Error(ErrorFromStatus(schedule.status()));
  co_return Json(200, Serialize(ScheduleToJson(*schedule)));
}

boost::asio::awaitable<Response> Routes::TriggerSchedule(const std::string& text) {
  auto id = ParseScheduleId(text);
  if (!id.ok()) co_return Error(id.error());
  struct Answer {
    Job job;
    cron::Schedule schedule;
  };
  using Outcome = Result<Answer>;
  // A trigger is one job now, outside the occurrences: next_run does not move, paused or
  // not, and the job carries no occurrence key.
  auto work = [id = *id](RedisExecutor::Context& c) -> Outcome {
    queue::ScheduleStore store = StoreOn(c);
    auto job_id = store.Trigger(c.broker, id);
    if (!job_id) return job_id.status();
    auto job = c.broker.GetJob(*job_id);
    if (!job) return job.status();
    auto after = store.Get(id);
    if (!after) return after.status();
    return Answer{std::move(*job), std::move(*after)};
  };
  Outcome answer = co_await OnRedis<Outcome>(executor_, std::move(work));
  if (!answer) co_return Error(ErrorFromStatus(answer.status()));
  json::object out;
  out["job"] = JobToJson(answer->job);
  out["schedule"] = ScheduleToJson(answer->schedule);
  co_return Json(201, Serialize(out));
}

boost::asio::awaitable<Response> Routes::RedisReport() {
  using Outcome = Result<redis::RedisReport>;
  auto work = [](RedisExecutor::Context& c) -> Outcome { return redis::CheckRedis(c.connection); };
  Outcome report = co_await OnRedis<Outcome>(executor_, std::move(work));
  if (!report) co_return Error(ErrorFromStatus(report.status()));
  co_return Json(200, Serialize(RedisReportToJson(*report)));
}

boost::asio::awaitable<Response> Routes::Metrics() {
  using Outcome = Result<std::string>;
  obs::Metrics* metrics = &metrics_;
  auto work = [metrics](RedisExecutor::Context&) -> Outcome { return metrics->Render(); };
  Outcome rendered = co_await OnRedis<Outcome>(executor_, std::move(work));
  if (!rendered) co_return Error(ErrorFromStatus(rendered.status()));
  std::string text = std::move(*rendered);
  // Gauges of live objects of this server, on this port only (the collector in the registry
  // must not reach objects that die with the server).
  text += "# HELP bananas_api_result_waits Long-polls on job results in progress.\n";
  text += "# TYPE bananas_api_result_waits gauge\n";
  text += "bananas_api_result_waits " + std::to_string(waiter_.active()) + "\n";
  text += "# HELP bananas_api_redis_queue Redis tasks waiting for a Redis thread.\n";
  text += "# TYPE bananas_api_redis_queue gauge\n";
  text += "bananas_api_redis_queue " + std::to_string(executor_.queued()) + "\n";
  text += "# HELP bananas_api_redis_ready 1 when Redis answered the last PING.\n";
  text += "# TYPE bananas_api_redis_ready gauge\n";
  text += std::string("bananas_api_redis_ready ") +
          (redis_ready_.load(std::memory_order_relaxed) ? "1" : "0") + "\n";
  Response response{http::status::ok, 11};
  response.set(http::field::server, "bananas");
  response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  response.body() = std::move(text);
  response.prepare_payload();
  co_return response;
}

}  // namespace bananas::api
