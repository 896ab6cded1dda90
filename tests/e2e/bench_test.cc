// `bananas bench` end to end: the built binary with small N, its --json output checked for
// shape and plausibility (never for speed: timing belongs to docs/BENCHMARKS.md).
#include <signal.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>

#include "gtest/gtest.h"
#include "process.h"
#include "redis_server.h"
#include "test_util.h"

namespace bananas::testing {
namespace {

namespace json = boost::json;

constexpr int kExitUsage = 2;

// Small enough for a loaded 2-core machine under ASan; every scenario still runs jobs.
const std::vector<std::string> kSmallRun = {
    "bench",      "--json", "--jobs",    "300", "--single-jobs", "50", "--rate",    "100",
    "--duration", "1s",     "--delayed", "40",  "--spread",      "1s", "--timeout", "60s"};

std::unique_ptr<Process> RunBench(std::map<std::string, std::optional<std::string>> env,
                                  std::vector<std::string> extra = {}) {
  ProcessOptions options;
  options.args = {BANANAS_BIN};
  options.args.insert(options.args.end(), kSmallRun.begin(), kSmallRun.end());
  options.args.insert(options.args.end(), extra.begin(), extra.end());
  options.env = std::move(env);
  return RunToExit(std::move(options), std::chrono::minutes(5));
}

const json::value& At(const json::value& v, std::initializer_list<const char*> path) {
  const json::value* at = &v;
  for (const char* key : path) {
    const json::value* next = at->is_object() ? at->as_object().if_contains(key) : nullptr;
    if (next == nullptr) {
      static const json::value kNull;
      ADD_FAILURE() << "no " << key << " in " << json::serialize(*at);
      return kNull;
    }
    at = next;
  }
  return *at;
}

double Number(const json::value& v, std::initializer_list<const char*> path) {
  const json::value& at = At(v, path);
  if (at.is_int64()) return static_cast<double>(at.as_int64());
  if (at.is_uint64()) return static_cast<double>(at.as_uint64());
  if (at.is_double()) return at.as_double();
  ADD_FAILURE() << "not a number: " << json::serialize(at);
  return -1;
}

void ExpectDelivered(const json::value& delivery, double jobs) {
  EXPECT_TRUE(At(delivery, {"ok"}).is_bool() && At(delivery, {"ok"}).as_bool())
      << json::serialize(delivery);
  EXPECT_EQ(Number(delivery, {"submitted"}), jobs);
  EXPECT_EQ(Number(delivery, {"completed"}), jobs);
  EXPECT_EQ(Number(delivery, {"lost"}), 0);
  EXPECT_EQ(Number(delivery, {"duplicates"}), 0);
  EXPECT_EQ(Number(delivery, {"unexpected"}), 0);
}

void ExpectPlausibleReport(const json::value& report) {
  EXPECT_EQ(At(report, {"bench"}), json::value("bananas"));
  EXPECT_TRUE(At(report, {"ok"}).is_bool() && At(report, {"ok"}).as_bool());

  EXPECT_EQ(Number(report, {"enqueue", "single", "jobs"}), 50);
  EXPECT_GT(Number(report, {"enqueue", "single", "jobs_per_second"}), 0);
  EXPECT_EQ(Number(report, {"enqueue", "bulk", "jobs"}), 300);
  EXPECT_GT(Number(report, {"enqueue", "bulk", "jobs_per_second"}), 0);

  EXPECT_EQ(Number(report, {"throughput", "jobs"}), 300);
  EXPECT_GT(Number(report, {"throughput", "jobs_per_second"}), 0);
  EXPECT_GT(Number(report, {"throughput", "seconds"}), 0);
  // Dequeues and acks run as scripts over whole batches: Redis calls are counted, fewer than
  // a handful per job (layout 2: one call per command over a batch, not one per job).
  EXPECT_GT(Number(report, {"throughput", "redis", "calls_per_job"}), 0);
  EXPECT_LT(Number(report, {"throughput", "redis", "calls_per_job"}), 5);
  EXPECT_GT(Number(report, {"throughput", "redis", "calls_per_job_by_command", "evalsha"}), 0);
  EXPECT_GT(Number(report, {"throughput", "redis", "cpu_us_per_job"}), 0);
  ExpectDelivered(At(report, {"throughput", "delivery"}), 300);

  // 100 jobs/s for 1 s, plus one unsampled warm-up job.
  EXPECT_EQ(Number(report, {"pickup", "latency", "count"}), 100);
  EXPECT_GT(Number(report, {"pickup", "latency", "max_ms"}), 0);
  EXPECT_LE(Number(report, {"pickup", "latency", "p50_ms"}),
            Number(report, {"pickup", "latency", "p99_ms"}));
  ExpectDelivered(At(report, {"pickup", "delivery"}), 101);

  EXPECT_EQ(Number(report, {"lateness", "latency", "count"}), 40);
  EXPECT_EQ(Number(report, {"lateness", "early"}), 0);
  EXPECT_GE(Number(report, {"lateness", "latency", "min_ms"}), 0);
  ExpectDelivered(At(report, {"lateness", "delivery"}), 40);

  ExpectDelivered(At(report, {"delivery"}), 300 + 101 + 40);
}

TEST(BenchCommand, OwnRedisRunReportsEveryScenarioAndExactDelivery) {
  // REDIS_URL unset: bench starts (and stops) its own redis-server, as `bananas dev` does.
  std::unique_ptr<Process> p = RunBench({{"REDIS_URL", std::nullopt}});
  ASSERT_EQ(p->WaitExit(), 0) << p->Output();
  boost::system::error_code ec;
  json::value report = json::parse(p->out(), ec);
  ASSERT_FALSE(ec) << p->Output();
  ExpectPlausibleReport(report);
}

TEST(BenchCommand, SharedRedisIsLeftAsItWas) {
  Result<std::unique_ptr<RedisServer>> redis = RedisServer::Start();
  ASSERT_OK(redis);
  (*redis)->Cli({"SET", "someone-else", "1"});
  std::unique_ptr<Process> p =
      RunBench({{"REDIS_URL", (*redis)->url()}}, {"--scenarios", "enqueue,throughput"});
  ASSERT_EQ(p->WaitExit(), 0) << p->Output();
  boost::system::error_code ec;
  json::value report = json::parse(p->out(), ec);
  ASSERT_FALSE(ec) << p->Output();
  ExpectDelivered(At(report, {"throughput", "delivery"}), 300);
  EXPECT_FALSE(report.as_object().contains("pickup"));
  // Every bench key was deleted; the other client's key is untouched.
  EXPECT_EQ((*redis)->Cli({"DBSIZE"}), "1");
  EXPECT_EQ((*redis)->Cli({"GET", "someone-else"}), "1");
}

TEST(BenchCommand, EnqueuesOverHttpKeepAliveWithoutErrors) {
  Result<std::unique_ptr<RedisServer>> redis = RedisServer::Start();
  ASSERT_OK(redis);
  ProcessOptions api_options;
  api_options.args = {BANANAS_BIN, "api", "--api-port", "0", "--pprof-port", "0"};
  api_options.env = {{"REDIS_URL", (*redis)->url()}, {"BANANAS_API_TOKEN", std::nullopt}};
  Result<std::unique_ptr<Process>> api = Process::Start(std::move(api_options));
  ASSERT_OK(api);
  ASSERT_TRUE((*api)->WaitForStdout("bananas api: ready")) << (*api)->Output();
  const std::string address = Field((*api)->out(), "API: ");
  const std::string port = address.substr(address.rfind(':') + 1);

  std::unique_ptr<Process> p =
      RunBench({{"REDIS_URL", (*redis)->url()}, {"BANANAS_API_TOKEN", std::nullopt}},
               {"--scenarios", "enqueue", "--api", "http://127.0.0.1:" + port, "--http-connections",
                "4", "--bulk-chunk", "100"});
  ASSERT_EQ(p->WaitExit(), 0) << p->Output();
  boost::system::error_code ec;
  json::value report = json::parse(p->out(), ec);
  ASSERT_FALSE(ec) << p->Output();
  EXPECT_EQ(Number(report, {"enqueue", "http_single", "jobs"}), 50);
  EXPECT_EQ(Number(report, {"enqueue", "http_single", "errors"}), 0);
  EXPECT_GT(Number(report, {"enqueue", "http_single", "jobs_per_second"}), 0);
  EXPECT_EQ(Number(report, {"enqueue", "http_bulk", "jobs"}), 300);
  EXPECT_EQ(Number(report, {"enqueue", "http_bulk", "errors"}), 0);
  // The API wrote them to its own Redis, under its own prefix: they are there.
  EXPECT_EQ((*redis)->Cli({"LLEN", "bananas:{bench-http}:pending:normal"}), "350");
  (*api)->Signal(SIGTERM);
  EXPECT_EQ((*api)->WaitExit(), 0) << (*api)->Output();
}

TEST(BenchCommand, UnknownScenarioIsAUsageError) {
  ProcessOptions options;
  options.args = {BANANAS_BIN, "bench", "--scenarios", "enqueue,nope"};
  std::unique_ptr<Process> p = RunToExit(std::move(options));
  EXPECT_EQ(p->WaitExit(), kExitUsage) << p->Output();
}

}  // namespace
}  // namespace bananas::testing
