// Metrics, logs and the Redis self-check end to end: the built `bananas` binary (api, worker,
// scheduler, doctor) against real redis-servers, /metrics checked by `promtool check metrics`.
#include <boost/json/parse.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "process.h"
#include "redis_server.h"
#include "test_util.h"

namespace bananas::testing {
namespace {

using std::chrono::seconds;

// Runs a shell pipeline to its end; the Process holds its output.
std::unique_ptr<Process> Shell(const std::string& command) {
  ProcessOptions options;
  options.args = {"/bin/sh", "-c", command};
  return RunToExit(std::move(options));
}

std::string Get(const std::string& url) {
  std::unique_ptr<Process> p = Shell("curl -s --max-time 10 '" + url + "'");
  p->WaitExit();
  return p->out();
}

// The value of the sample `series` ("name{labels}" or "name"), 0 when absent.
double Value(const std::string& metrics, const std::string& series) {
  std::string needle = "\n" + series + " ";
  size_t at = ("\n" + metrics).find(needle);
  if (at == std::string::npos) return 0;
  return std::stod(metrics.substr(at + needle.size() - 1));
}

// "pprof: http://127.0.0.1:PORT/debug/pprof/ ..." -> PORT.
std::string AdminPort(const Process& p) {
  std::string rest = Field(p.out(), "pprof: http://127.0.0.1:");
  return rest.substr(0, rest.find('/'));
}

class Service {
 public:
  static std::unique_ptr<Process> Start(std::vector<std::string> args,
                                        std::map<std::string, std::optional<std::string>> env) {
    ProcessOptions options;
    options.args = {BANANAS_BIN};
    options.args.insert(options.args.end(), args.begin(), args.end());
    env.emplace("PPROF_PORT", "0");
    options.env = std::move(env);
    auto started = Process::Start(std::move(options));
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    if (!started.ok()) return nullptr;
    std::unique_ptr<Process> p = std::move(*started);
    EXPECT_TRUE(p->WaitForStdout(": ready")) << p->Output();
    return p;
  }
};

void ExpectPromtoolAccepts(const std::string& url) {
  std::unique_ptr<Process> check =
      Shell("curl -s --max-time 10 '" + url + "' | promtool check metrics");
  EXPECT_EQ(check->WaitExit(), 0) << url << "\n" << check->Output();
}

TEST(MetricsEndToEnd, EveryServiceServesValidMetricsThatMoveAsJobsRun) {
  RedisServerOptions redis_options;
  redis_options.appendonly = true;
  auto redis = RedisServer::Start(redis_options);
  ASSERT_OK(redis);
  std::map<std::string, std::optional<std::string>> env = {{"REDIS_URL", (*redis)->url()}};
  auto api_env = env;
  api_env.emplace("API_PORT", "0");
  std::unique_ptr<Process> api = Service::Start({"api"}, api_env);
  std::unique_ptr<Process> worker = Service::Start({"worker"}, env);
  std::unique_ptr<Process> scheduler = Service::Start({"scheduler"}, env);
  ASSERT_TRUE(api && worker && scheduler);
  const std::string api_url = "http://127.0.0.1:" + Field(api->out(), "API: http://0.0.0.0:");
  const std::string worker_metrics = "http://127.0.0.1:" + AdminPort(*worker) + "/metrics";
  const std::vector<std::string> endpoints = {
      api_url + "/metrics",
      "http://127.0.0.1:" + AdminPort(*api) + "/metrics",
      worker_metrics,
      "http://127.0.0.1:" + AdminPort(*scheduler) + "/metrics",
  };
  for (const std::string& url : endpoints) ExpectPromtoolAccepts(url);

  const std::string labels = "{queue=\"default\",job_type=\"noop\"}";
  std::string before = Get(worker_metrics);
  double succeeded = Value(before, "bananas_jobs_succeeded_total" + labels);
  double run_count = Value(before, "bananas_job_run_time_seconds_count" + labels);
  double pickup_count = Value(before, "bananas_job_pickup_latency_seconds_count" + labels);
  double round_trips = Value(before, "bananas_redis_round_trip_seconds_count");

  constexpr int kJobs = 30;
  std::string batch = "{\"jobs\":[";
  for (int i = 0; i < kJobs; ++i) batch += std::string(i ? "," : "") + "{\"name\":\"noop\"}";
  batch += "]}";
  std::unique_ptr<Process> posted = Shell("curl -s -X POST -H 'Content-Type: application/json' "
                                          "--data '" + batch + "' " + api_url + "/api/v1/jobs/batch");
  ASSERT_EQ(posted->WaitExit(), 0) << posted->Output();
  ASSERT_NE(posted->out().find("\"ids\""), std::string::npos) << posted->Output();

  std::string after;
  EXPECT_TRUE(WaitFor(
      [&] {
        after = Get(worker_metrics);
        return Value(after, "bananas_jobs_succeeded_total" + labels) >= succeeded + kJobs;
      },
      seconds(60)))
      << after;
  EXPECT_EQ(Value(after, "bananas_jobs_succeeded_total" + labels), succeeded + kJobs);
  EXPECT_EQ(Value(after, "bananas_jobs_started_total" + labels), kJobs);
  EXPECT_EQ(Value(after, "bananas_job_run_time_seconds_count" + labels), run_count + kJobs);
  EXPECT_EQ(Value(after, "bananas_job_pickup_latency_seconds_count" + labels),
            pickup_count + kJobs);
  EXPECT_GT(Value(after, "bananas_redis_round_trip_seconds_count"), round_trips);
  EXPECT_GE(Value(after, "bananas_redis_connections"), 1);
  EXPECT_NE(after.find("bananas_worker_utilization_ratio{worker="), std::string::npos);

  std::string api_metrics = Get(api_url + "/metrics");
  EXPECT_EQ(Value(api_metrics, "bananas_jobs_submitted_total" + labels), kJobs) << api_metrics;
  // Depth is read from Redis at most once a second: the queue shows once the cache expires.
  EXPECT_TRUE(WaitFor(
      [&] {
        api_metrics = Get(api_url + "/metrics");
        return api_metrics.find("bananas_queue_jobs{queue=\"default\",state=\"pending\","
                                "priority=\"normal\"} 0") != std::string::npos;
      },
      seconds(30)))
      << api_metrics;
  std::string scheduler_metrics = Get(endpoints[3]);
  EXPECT_NE(scheduler_metrics.find("# TYPE bananas_jobs_recovered_total counter"),
            std::string::npos);
  for (const std::string& url : endpoints) ExpectPromtoolAccepts(url);  // histograms filled

  // The self-check over HTTP: the same report as `bananas doctor --json`.
  boost::system::error_code ec;
  boost::json::value report = boost::json::parse(Get(api_url + "/api/v1/redis"), ec);
  ASSERT_FALSE(ec);
  EXPECT_TRUE(report.at("ok").as_bool());
  EXPECT_EQ(report.at("checks").as_array().size(), 3u);
  EXPECT_FALSE(report.at("info").at("version").as_string().empty());
}

TEST(DoctorEndToEnd, EvictionPolicyIsNamedWithItsFix) {
  RedisServerOptions redis_options;
  redis_options.extra_args = {"--maxmemory-policy", "allkeys-lru"};
  auto redis = RedisServer::Start(redis_options);
  ASSERT_OK(redis);
  std::map<std::string, std::optional<std::string>> env = {{"REDIS_URL", (*redis)->url()}};

  ProcessOptions doctor;
  doctor.args = {BANANAS_BIN, "doctor"};
  doctor.env = env;
  std::unique_ptr<Process> text = RunToExit(doctor);
  EXPECT_EQ(text->WaitExit(), 0) << text->Output();  // WARN is not a failure
  EXPECT_NE(text->out().find("WARN  maxmemory-policy  maxmemory-policy is allkeys-lru"),
            std::string::npos)
      << text->Output();
  EXPECT_NE(text->out().find("fix: redis-cli CONFIG SET maxmemory-policy noeviction"),
            std::string::npos);
  EXPECT_NE(text->out().find("SLOWLOG"), std::string::npos);
  EXPECT_NE(text->out().find("connected clients"), std::string::npos);

  doctor.args.push_back("--json");
  std::unique_ptr<Process> json = RunToExit(doctor);
  ASSERT_EQ(json->WaitExit(), 0) << json->Output();
  boost::system::error_code ec;
  boost::json::value report = boost::json::parse(json->out(), ec);
  ASSERT_FALSE(ec) << json->Output();
  bool found = false;
  for (const auto& check : report.at("checks").as_array()) {
    if (check.at("name").as_string() != "maxmemory-policy") continue;
    found = true;
    EXPECT_EQ(check.at("status").as_string(), "WARN");
    EXPECT_NE(std::string(check.at("fix").as_string()).find("noeviction"), std::string::npos);
  }
  EXPECT_TRUE(found) << json->Output();
  EXPECT_EQ(report.at("info").at("maxmemory_policy").as_string(), "allkeys-lru");

  // Every service warns at start, loudly, with the fix.
  std::unique_ptr<Process> worker = Service::Start({"worker"}, env);
  ASSERT_TRUE(worker);
  EXPECT_NE(worker->err().find("REDIS SELF-CHECK WARNING"), std::string::npos) << worker->Output();
  EXPECT_NE(worker->err().find("maxmemory-policy is allkeys-lru"), std::string::npos);
}

TEST(SecretsEndToEnd, RedisPasswordNeverAppearsInLogsOutputMetricsOrDoctor) {
  const std::string password = "pw-Zq81xK-never-print";
  RedisServerOptions redis_options;
  redis_options.extra_args = {"--requirepass", password};
  auto redis = RedisServer::Start(redis_options);
  ASSERT_OK(redis);
  const std::string url =
      "redis://:" + password + "@127.0.0.1:" + std::to_string((*redis)->port()) + "/0";
  std::map<std::string, std::optional<std::string>> env = {
      {"REDIS_URL", url}, {"LOG_LEVEL", "debug"}, {"LOG_FORMAT", "json"}};

  // The URL also on the command line, so /debug/pprof/cmdline would show it unmasked.
  std::unique_ptr<Process> worker = Service::Start({"worker", "--redis-url", url}, env);
  std::unique_ptr<Process> scheduler = Service::Start({"scheduler"}, env);
  ASSERT_TRUE(worker && scheduler);
  std::vector<std::string> seen;
  for (const char* job : {"noop", "noop", "fail"}) {
    ProcessOptions enqueue;
    enqueue.args = {BANANAS_BIN, "enqueue", job};
    enqueue.env = env;
    std::unique_ptr<Process> p = RunToExit(enqueue);
    EXPECT_EQ(p->WaitExit(), 0) << p->Output();
    seen.push_back(p->Output());
  }
  const std::string admin = "http://127.0.0.1:" + AdminPort(*worker);
  std::string metrics;
  EXPECT_TRUE(WaitFor(
      [&] {
        metrics = Get(admin + "/metrics");
        return Value(metrics, "bananas_jobs_succeeded_total{queue=\"default\",job_type=\"noop\"}") >= 2 &&
               worker->err().find("\"outcome\":\"retrying\"") != std::string::npos;
      },
      seconds(60)))
      << metrics << worker->Output();
  seen.push_back(metrics);
  seen.push_back(Get(admin + "/debug/pprof/cmdline"));
  EXPECT_NE(seen.back().find("redis://:***@"), std::string::npos);
  for (const char* flag : {"", "--json"}) {
    ProcessOptions doctor;
    doctor.args = {BANANAS_BIN, "doctor"};
    if (*flag) doctor.args.push_back(flag);
    doctor.env = env;
    std::unique_ptr<Process> p = RunToExit(doctor);
    EXPECT_EQ(p->WaitExit(), 0) << p->Output();
    seen.push_back(p->Output());
  }
  // A wrong password: the error names the endpoint, not the password tried.
  ProcessOptions wrong;
  wrong.args = {BANANAS_BIN, "doctor"};
  wrong.env = {{"REDIS_URL", "redis://:wrong-" + password + "@127.0.0.1:" +
                                 std::to_string((*redis)->port()) + "/0"}};
  std::unique_ptr<Process> refused = RunToExit(wrong);
  EXPECT_EQ(refused->WaitExit(), 2) << refused->Output();  // InvalidArgument: fix the URL
  seen.push_back(refused->Output());

  worker->Signal(SIGTERM);
  scheduler->Signal(SIGTERM);
  EXPECT_EQ(worker->WaitExit(), 0);
  EXPECT_EQ(scheduler->WaitExit(), 0);
  seen.push_back(worker->Output());
  seen.push_back(scheduler->Output());
  for (const std::string& text : seen) {
    EXPECT_EQ(text.find(password), std::string::npos) << text;
  }

  // Every log line is one valid JSON object; one per job outcome at debug.
  std::istringstream lines(worker->err());
  std::string line;
  int outcomes = 0;
  while (std::getline(lines, line)) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << line;
    if (v.at("msg").as_string() == "job done") ++outcomes;
  }
  EXPECT_GE(outcomes, 3);
  EXPECT_NE(worker->err().find("\"msg\":\"service started\""), std::string::npos);
  EXPECT_NE(worker->err().find("\"msg\":\"shutdown requested\""), std::string::npos);
}

}  // namespace
}  // namespace bananas::testing
