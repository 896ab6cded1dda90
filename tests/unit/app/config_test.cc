#include "app/config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "test_util.h"

namespace bananas::app {
namespace {

using std::chrono::milliseconds;

// An environment made of a map, so tests never touch the process's own.
EnvLookup Env(std::map<std::string, std::string> values) {
  return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
    auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

// The message of the InvalidArgument that loading `env` under `service` must produce.
std::string ErrorOf(std::map<std::string, std::string> env, const Overrides& overrides = {},
                    Service service = Service::kWorker) {
  Result<Config> config = LoadConfig(service, Env(std::move(env)), overrides);
  if (config) return "(no error)";
  EXPECT_TRUE(config.status().IsInvalidArgument()) << config.status().ToString();
  return config.status().message();
}

TEST(Config, DefaultsAreTheSpecs) {
  Result<Config> config = LoadConfig(Service::kWorker, Env({}));
  ASSERT_OK(config);
  EXPECT_EQ(config->redis_url, "redis://127.0.0.1:6379/0");
  EXPECT_EQ(config->api_port, 8080);
  EXPECT_EQ(config->pprof_port, 6061);
  EXPECT_EQ(config->pprof_bind, "127.0.0.1");
  EXPECT_EQ(config->worker_concurrency, 10);
  EXPECT_EQ(config->worker_queues, std::vector<std::string>{"default"});
  EXPECT_EQ(config->worker_priorities,
            (std::vector<Priority>{Priority::kHigh, Priority::kNormal, Priority::kLow}));
  EXPECT_TRUE(config->worker_job_types.empty());
  EXPECT_TRUE(config->worker_builtins);
  EXPECT_TRUE(config->worker_plugins.empty());
  EXPECT_EQ(config->job_timeout, std::chrono::minutes(30));
  EXPECT_EQ(config->max_retries, 3);
  EXPECT_EQ(config->lease_timeout, std::chrono::seconds(30));
  EXPECT_EQ(config->shutdown_grace, std::chrono::seconds(30));
  EXPECT_EQ(config->result_ttl_success, std::chrono::hours(24));
  EXPECT_EQ(config->result_ttl_failure, std::chrono::hours(168));
  EXPECT_EQ(config->api_token, "");
  EXPECT_EQ(config->api_max_body, 1024 * 1024);
  EXPECT_EQ(config->log_level, LogLevel::kInfo);
  EXPECT_EQ(config->log_format, LogFormat::kConsole);
  EXPECT_EQ(config->prefix, "bananas");
  EXPECT_EQ(config->dlq_max, 100'000);
  EXPECT_EQ(config->dlq_ttl, std::chrono::hours(30 * 24));
  EXPECT_EQ(config->max_result_bytes, 1024 * 1024);
}

TEST(Config, PprofPortDefaultDependsOnService) {
  EXPECT_EQ(LoadConfig(Service::kApi, Env({}))->pprof_port, 6060);
  EXPECT_EQ(LoadConfig(Service::kWorker, Env({}))->pprof_port, 6061);
  EXPECT_EQ(LoadConfig(Service::kScheduler, Env({}))->pprof_port, 6062);
  EXPECT_EQ(LoadConfig(Service::kDev, Env({}))->pprof_port, 6060);
  EXPECT_EQ(LoadConfig(Service::kScheduler, Env({{"PPROF_PORT", "7000"}}))->pprof_port, 7000);
}

TEST(Config, DevLeavesRedisUrlUnsetSoItStartsItsOwn) {
  Result<Config> dev = LoadConfig(Service::kDev, Env({}));
  ASSERT_OK(dev);
  EXPECT_EQ(dev->redis_url, "");
  Result<Config> dev_with_url = LoadConfig(Service::kDev, Env({{"REDIS_URL", "redis://h:1/2"}}));
  ASSERT_OK(dev_with_url);
  EXPECT_EQ(dev_with_url->redis_url, "redis://h:1/2");
}

TEST(Config, EveryVariableIsRead) {
  Result<Config> config = LoadConfig(Service::kDev, Env({
                                                        {"REDIS_URL", "redis://db:6380/3"},
                                                        {"API_PORT", "9090"},
                                                        {"PPROF_PORT", "0"},
                                                        {"PPROF_BIND", "0.0.0.0"},
                                                        {"WORKER_CONCURRENCY", "64"},
                                                        {"WORKER_PREFETCH", "0"},
                                                        {"WORKER_QUEUES", " emails , reports.pdf"},
                                                        {"WORKER_PRIORITIES", "low, HIGH"},
                                                        {"WORKER_JOB_TYPES", "send:email,noop"},
                                                        {"WORKER_BUILTINS", "no"},
                                                        {"WORKER_PLUGINS", "/a/x.so, b.so"},
                                                        {"JOB_TIMEOUT", "90s"},
                                                        {"MAX_RETRIES", "0"},
                                                        {"LEASE_TIMEOUT", "250ms"},
                                                        {"SHUTDOWN_GRACE", "0"},
                                                        {"RESULT_TTL_SUCCESS", "1h"},
                                                        {"RESULT_TTL_FAILURE", "5m"},
                                                        {"BANANAS_API_TOKEN", "t0ken"},
                                                        {"API_MAX_BODY", "64KiB"},
                                                        {"LOG_LEVEL", "debug"},
                                                        {"LOG_FORMAT", "json"},
                                                        {"BANANAS_PREFIX", "test:b"},
                                                        {"DLQ_MAX", "500"},
                                                        {"DLQ_TTL", "48h"},
                                                        {"MAX_RESULT_BYTES", "64KiB"},
                                                    }));
  ASSERT_OK(config);
  EXPECT_EQ(config->redis_url, "redis://db:6380/3");
  EXPECT_EQ(config->api_port, 9090);
  EXPECT_EQ(config->pprof_port, 0);
  EXPECT_EQ(config->pprof_bind, "0.0.0.0");
  EXPECT_EQ(config->worker_concurrency, 64);
  EXPECT_EQ(config->worker_prefetch, 0);
  EXPECT_EQ(config->worker_queues, (std::vector<std::string>{"emails", "reports.pdf"}));
  EXPECT_EQ(config->worker_priorities, (std::vector<Priority>{Priority::kHigh, Priority::kLow}));
  EXPECT_EQ(config->worker_job_types, (std::vector<std::string>{"send:email", "noop"}));
  EXPECT_FALSE(config->worker_builtins);
  EXPECT_EQ(config->worker_plugins, (std::vector<std::string>{"/a/x.so", "b.so"}));
  EXPECT_EQ(config->job_timeout, std::chrono::seconds(90));
  EXPECT_EQ(config->max_retries, 0);
  EXPECT_EQ(config->lease_timeout, milliseconds(250));
  EXPECT_EQ(config->shutdown_grace, milliseconds(0));
  EXPECT_EQ(config->result_ttl_success, std::chrono::hours(1));
  EXPECT_EQ(config->result_ttl_failure, std::chrono::minutes(5));
  EXPECT_EQ(config->api_token, "t0ken");
  EXPECT_EQ(config->api_max_body, 64 * 1024);
  EXPECT_EQ(config->log_level, LogLevel::kDebug);
  EXPECT_EQ(config->log_format, LogFormat::kJson);
  EXPECT_EQ(config->prefix, "test:b");
  EXPECT_EQ(config->dlq_max, 500);
  EXPECT_EQ(config->dlq_ttl, std::chrono::hours(48));
  EXPECT_EQ(config->max_result_bytes, 64 * 1024);
}

TEST(Config, EmptyValueMeansUnset) {
  Result<Config> config =
      LoadConfig(Service::kWorker,
                 Env({{"WORKER_CONCURRENCY", ""}, {"WORKER_QUEUES", "  "}, {"REDIS_URL", ""}}));
  ASSERT_OK(config);
  EXPECT_EQ(config->worker_concurrency, 10);
  EXPECT_EQ(config->worker_queues, std::vector<std::string>{"default"});
  EXPECT_EQ(config->redis_url, "redis://127.0.0.1:6379/0");
}

TEST(Config, BooleansAcceptTheUsualSpellings) {
  for (const char* yes : {"true", "TRUE", "1", "yes", "Yes"}) {
    EXPECT_TRUE(LoadConfig(Service::kWorker, Env({{"WORKER_BUILTINS", yes}}))->worker_builtins)
        << yes;
  }
  for (const char* no : {"false", "False", "0", "no", "NO"}) {
    EXPECT_FALSE(LoadConfig(Service::kWorker, Env({{"WORKER_BUILTINS", no}}))->worker_builtins)
        << no;
  }
  EXPECT_EQ(ErrorOf({{"WORKER_BUILTINS", "maybe"}}),
            "WORKER_BUILTINS: invalid value \"maybe\" (expected true, false, 1, 0, yes or no)");
}

TEST(Config, InvalidIntegerNamesVariableAndRange) {
  EXPECT_EQ(ErrorOf({{"WORKER_CONCURRENCY", "abc"}}),
            "WORKER_CONCURRENCY: invalid value \"abc\" (expected an integer 1..10000)");
  EXPECT_EQ(ErrorOf({{"WORKER_CONCURRENCY", "0"}}),
            "WORKER_CONCURRENCY: invalid value \"0\" (expected an integer 1..10000)");
  EXPECT_EQ(ErrorOf({{"WORKER_CONCURRENCY", "10001"}}),
            "WORKER_CONCURRENCY: invalid value \"10001\" (expected an integer 1..10000)");
  EXPECT_EQ(ErrorOf({{"WORKER_CONCURRENCY", "12x"}}),
            "WORKER_CONCURRENCY: invalid value \"12x\" (expected an integer 1..10000)");
  EXPECT_EQ(ErrorOf({{"MAX_RETRIES", "101"}}),
            "MAX_RETRIES: invalid value \"101\" (expected an integer 0..100)");
  EXPECT_EQ(ErrorOf({{"API_PORT", "65536"}}),
            "API_PORT: invalid value \"65536\" (expected an integer 0..65535)");
  EXPECT_EQ(ErrorOf({{"PPROF_PORT", "-1"}}),
            "PPROF_PORT: invalid value \"-1\" (expected an integer 0..65535)");
}

TEST(Config, InvalidDurationsNameTheVariable) {
  EXPECT_EQ(ErrorOf({{"JOB_TIMEOUT", "soon"}}),
            "JOB_TIMEOUT: invalid value \"soon\" (expected a duration such as 250ms, 30s, 5m or "
            "1h)");
  EXPECT_EQ(ErrorOf({{"JOB_TIMEOUT", "0"}}),
            "JOB_TIMEOUT: invalid value \"0\" (expected a duration of at least 1ms)");
  EXPECT_EQ(ErrorOf({{"LEASE_TIMEOUT", "50ms"}}),
            "LEASE_TIMEOUT: invalid value \"50ms\" (expected a duration of at least 100ms)");
  EXPECT_EQ(ErrorOf({{"SHUTDOWN_GRACE", "3d"}}).substr(0, 16), "SHUTDOWN_GRACE: ");
  EXPECT_EQ(ErrorOf({{"RESULT_TTL_SUCCESS", "0s"}}).substr(0, 20), "RESULT_TTL_SUCCESS: ");
  EXPECT_EQ(ErrorOf({{"RESULT_TTL_FAILURE", "x"}}).substr(0, 20), "RESULT_TTL_FAILURE: ");
}

TEST(Config, InvalidSizeNamesTheVariable) {
  EXPECT_EQ(ErrorOf({{"API_MAX_BODY", "1MB"}}),
            "API_MAX_BODY: invalid value \"1MB\" (expected a size in bytes, optionally with KiB "
            "or MiB)");
  EXPECT_EQ(ErrorOf({{"API_MAX_BODY", "0"}}),
            "API_MAX_BODY: invalid value \"0\" (expected a size from 1 byte to 1GiB)");
}

TEST(Config, ListsRejectEmptyEntriesAndDuplicates) {
  EXPECT_EQ(ErrorOf({{"WORKER_QUEUES", "a,,b"}}),
            "WORKER_QUEUES: invalid value \"a,,b\" (expected a comma-separated list with no "
            "empty entries)");
  EXPECT_EQ(ErrorOf({{"WORKER_QUEUES", "a,b,"}}).substr(0, 15), "WORKER_QUEUES: ");
  EXPECT_EQ(ErrorOf({{"WORKER_QUEUES", "a, b ,a"}}), "WORKER_QUEUES: \"a\" is listed twice");
}

TEST(Config, QueueNamesAreValidatedAsJobsQueues) {
  std::string error = ErrorOf({{"WORKER_QUEUES", "ok,not ok"}});
  EXPECT_EQ(error.substr(0, 34), "WORKER_QUEUES: invalid value \"not ");
  EXPECT_NE(error.find("not allowed"), std::string::npos) << error;
  EXPECT_EQ(ErrorOf({{"WORKER_QUEUES", std::string(65, 'q')}}).substr(0, 15), "WORKER_QUEUES: ");
  // A colon is fine in a job name but not in a queue name.
  EXPECT_EQ(ErrorOf({{"WORKER_QUEUES", "a:b"}}).substr(0, 15), "WORKER_QUEUES: ");
  EXPECT_EQ(ErrorOf({{"WORKER_JOB_TYPES", "ok,bad/name"}}).substr(0, 18), "WORKER_JOB_TYPES: ");
}

TEST(Config, PrioritiesAreNormalisedToStrictOrder) {
  Result<Config> config = LoadConfig(Service::kWorker, Env({{"WORKER_PRIORITIES", "low,normal"}}));
  ASSERT_OK(config);
  EXPECT_EQ(config->worker_priorities, (std::vector<Priority>{Priority::kNormal, Priority::kLow}));
  EXPECT_EQ(ErrorOf({{"WORKER_PRIORITIES", "high,urgent"}}),
            "WORKER_PRIORITIES: invalid value \"high,urgent\" (expected a comma-separated list "
            "of high, normal, low)");
  EXPECT_EQ(ErrorOf({{"WORKER_PRIORITIES", "high,high"}}),
            "WORKER_PRIORITIES: \"high\" is listed twice");
}

TEST(Config, LogSettingsAcceptOnlyKnownNames) {
  EXPECT_EQ(LoadConfig(Service::kApi, Env({{"LOG_LEVEL", "WARN"}}))->log_level, LogLevel::kWarn);
  EXPECT_EQ(ErrorOf({{"LOG_LEVEL", "verbose"}}),
            "LOG_LEVEL: invalid value \"verbose\" (expected trace, debug, info, warn or error)");
  EXPECT_EQ(ErrorOf({{"LOG_FORMAT", "xml"}}),
            "LOG_FORMAT: invalid value \"xml\" (expected console or json)");
}

TEST(Config, PrefixMayNotHoldBracesOrSpaces) {
  EXPECT_EQ(ErrorOf({{"BANANAS_PREFIX", "a{b}"}}),
            "BANANAS_PREFIX: invalid value \"a{b}\" (expected 1 to 64 characters of "
            "[A-Za-z0-9_.:-])");
  EXPECT_EQ(ErrorOf({{"BANANAS_PREFIX", "a b"}}).substr(0, 16), "BANANAS_PREFIX: ");
}

TEST(Config, RedisUrlErrorNamesVariableAndHidesPassword) {
  std::string error = ErrorOf({{"REDIS_URL", "redis://:hunter2@host:notaport/0"}});
  EXPECT_EQ(error.substr(0, 9), "REDIS_URL") << error;
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
  error = ErrorOf({{"REDIS_URL", "http://host"}});
  EXPECT_EQ(error.substr(0, 9), "REDIS_URL") << error;
}

TEST(Config, RedactedRedisUrlMasksThePassword) {
  Result<Config> config =
      LoadConfig(Service::kWorker, Env({{"REDIS_URL", "redis://app:hunter2@db:6379/1"}}));
  ASSERT_OK(config);
  EXPECT_EQ(config->redis_url, "redis://app:hunter2@db:6379/1");
  EXPECT_EQ(config->RedactedRedisUrl(), "redis://app:***@db:6379/1");
}

TEST(Config, FlagOverridesEnvironment) {
  Result<Config> config =
      LoadConfig(Service::kWorker, Env({{"WORKER_CONCURRENCY", "5"}, {"WORKER_QUEUES", "a"}}),
                 {{"WORKER_CONCURRENCY", "7"}});
  ASSERT_OK(config);
  EXPECT_EQ(config->worker_concurrency, 7);
  EXPECT_EQ(config->worker_queues, std::vector<std::string>{"a"});
}

TEST(Config, FlagReplacesBadEnvironmentValueUnread) {
  Result<Config> config = LoadConfig(Service::kWorker, Env({{"WORKER_CONCURRENCY", "abc"}}),
                                     {{"WORKER_CONCURRENCY", "3"}});
  ASSERT_OK(config);
  EXPECT_EQ(config->worker_concurrency, 3);
}

TEST(Config, BadFlagValueNamesVariableAndFlag) {
  EXPECT_EQ(ErrorOf({}, {{"WORKER_CONCURRENCY", "abc"}}),
            "WORKER_CONCURRENCY (--concurrency): invalid value \"abc\" (expected an integer "
            "1..10000)");
  EXPECT_EQ(ErrorOf({}, {{"JOB_TIMEOUT", "x"}}).substr(0, 31), "JOB_TIMEOUT (--job-timeout): in");
  std::string error = ErrorOf({}, {{"REDIS_URL", "redis://:pw1234@h:x/0"}});
  EXPECT_EQ(error.substr(0, 26), "REDIS_URL (--redis-url) \"r") << error;
  EXPECT_EQ(error.find("pw1234"), std::string::npos) << error;
}

TEST(Config, PrefetchIsBounded) {
  EXPECT_EQ(ErrorOf({{"WORKER_PREFETCH", "-1"}}),
            "WORKER_PREFETCH: invalid value \"-1\" (expected an integer 0..100000)");
  Result<Config> config = LoadConfig(Service::kWorker, Env({}));
  ASSERT_OK(config);
  EXPECT_EQ(config->worker_prefetch, 32);
}

TEST(Config, QueuePruneAfterIsADurationAndZeroMeansNever) {
  EXPECT_EQ(ErrorOf({{"QUEUE_PRUNE_AFTER", "soon"}}, {}, Service::kScheduler).substr(0, 19),
            "QUEUE_PRUNE_AFTER: ");
  Result<Config> config = LoadConfig(Service::kScheduler, Env({}));
  ASSERT_OK(config);
  EXPECT_EQ(config->queue_prune_after, std::chrono::hours(168));
  config = LoadConfig(Service::kScheduler, Env({{"QUEUE_PRUNE_AFTER", "0"}}));
  ASSERT_OK(config);
  EXPECT_EQ(config->queue_prune_after.count(), 0);
}

TEST(Config, DlqBoundsAcceptZeroForNone) {
  Result<Config> config =
      LoadConfig(Service::kScheduler, Env({{"DLQ_MAX", "0"}, {"DLQ_TTL", "0"}}));
  ASSERT_OK(config);
  EXPECT_EQ(config->dlq_max, 0);
  EXPECT_EQ(config->dlq_ttl, milliseconds(0));
  EXPECT_EQ(ErrorOf({{"DLQ_MAX", "-1"}}, {}, Service::kScheduler),
            "DLQ_MAX: invalid value \"-1\" (expected an integer 0..1000000000)");
  EXPECT_EQ(ErrorOf({{"DLQ_MAX", "lots"}}, {}, Service::kScheduler),
            "DLQ_MAX: invalid value \"lots\" (expected an integer 0..1000000000)");
  EXPECT_EQ(ErrorOf({{"DLQ_TTL", "a month"}}, {}, Service::kScheduler).substr(0, 9), "DLQ_TTL: ");
  EXPECT_EQ(ErrorOf({}, {{"DLQ_TTL", "x"}}, Service::kScheduler).substr(0, 20),
            "DLQ_TTL (--dlq-ttl):");
}

TEST(Config, MaxResultBytesIsASizeUpTo512MiB) {
  EXPECT_EQ(LoadConfig(Service::kWorker, Env({{"MAX_RESULT_BYTES", "100"}}))->max_result_bytes,
            100);
  EXPECT_EQ(ErrorOf({{"MAX_RESULT_BYTES", "0"}}),
            "MAX_RESULT_BYTES: invalid value \"0\" (expected a size from 1 byte to 512MiB)");
  EXPECT_EQ(ErrorOf({{"MAX_RESULT_BYTES", "513MiB"}}),
            "MAX_RESULT_BYTES: invalid value \"513MiB\" (expected a size from 1 byte to 512MiB)");
  EXPECT_EQ(ErrorOf({{"MAX_RESULT_BYTES", "1MB"}}).substr(0, 18), "MAX_RESULT_BYTES: ");
}

TEST(Config, UnknownOverrideIsRefused) {
  EXPECT_EQ(ErrorOf({}, {{"WORKER_CONCURENCY", "3"}}), "unknown setting \"WORKER_CONCURENCY\"");
}

TEST(Config, EveryServiceValidatesEveryVariable) {
  // A bad value in a shared environment file stops whichever process reads it first.
  EXPECT_EQ(ErrorOf({{"WORKER_CONCURRENCY", "abc"}}, {}, Service::kScheduler).substr(0, 20),
            "WORKER_CONCURRENCY: ");
}

TEST(Config, EveryVariableHasAFlagAndAService) {
  ASSERT_EQ(Variables().size(), 26u);
  for (const Variable& variable : Variables()) {
    EXPECT_FALSE(variable.flag.empty()) << variable.name;
    EXPECT_FALSE(variable.help.empty()) << variable.name;
    EXPECT_TRUE(variable.dev) << variable.name << ": dev runs everything";
    EXPECT_TRUE(variable.api || variable.worker || variable.scheduler) << variable.name;
    EXPECT_EQ(FindVariable(variable.name), &variable);
  }
  EXPECT_EQ(FindVariable("NOPE"), nullptr);
  EXPECT_TRUE(FindVariable("BANANAS_API_TOKEN")->secret);
  EXPECT_TRUE(FindVariable("REDIS_URL")->secret);
}

}  // namespace
}  // namespace bananas::app
