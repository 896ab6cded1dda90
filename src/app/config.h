// Config: every setting of SPEC §1, read from the environment and then from command-line
// flags, through one validation path.
//
// Entry points, in the order main() meets them:
//   Variables()   the table of settings: variable name, flag, help text, which services use
//                 it. The CLI builds its flags from it, so a new setting is one table row plus
//                 one field of Config plus one case in config.cc's Apply().
//   LoadConfig()  defaults for the service, then every variable found by the env lookup, then
//                 every flag override (name -> text, keyed by variable name). The first
//                 invalid value is an InvalidArgument whose message starts with the variable
//                 name (and the flag, when it came from one).
//
// An empty value (FOO= in the environment, --foo "" on the command line) means "unset": the
// default applies. Every variable is validated whichever service runs, so a bad value in a
// shared environment file is caught by the first process that starts, not by the last.
//
// Secrets: REDIS_URL may hold a password and BANANAS_API_TOKEN is one. Show the URL only
// through redis::RedactUrl (Config::RedactedRedisUrl()); never print the token.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bananas/job.h"
#include "bananas/status.h"

namespace bananas::app {

// The process being configured: it picks the pprof port default and, for kDev, leaves
// REDIS_URL unset when the environment does (dev then starts its own redis-server).
enum class Service { kApi, kWorker, kScheduler, kDev };

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };
enum class LogFormat { kConsole, kJson };

std::string_view ServiceName(Service service);
std::string_view LogLevelName(LogLevel level);
std::string_view LogFormatName(LogFormat format);

// Defaults are SPEC §1's; the variable that sets each field is named beside it.
struct Config {
  // REDIS_URL. Empty only for Service::kDev when the variable is unset: dev then starts its
  // own redis-server. Other services default to kDefaultRedisUrl.
  std::string redis_url;
  int api_port = 8080;  // API_PORT; 0 picks a free port (tests)
  // PPROF_PORT: the admin listener (pprof, /metrics, /healthz); 0 picks a free port.
  // Defaults to PprofPortDefault(service).
  int pprof_port = 6060;
  std::string pprof_bind = "127.0.0.1";  // PPROF_BIND: loopback unless asked; pprof leaks
                                         // memory contents and symbol names
  int worker_concurrency = 10;           // WORKER_CONCURRENCY, 1..10000
  int worker_prefetch = 32;              // WORKER_PREFETCH, 0..100000
  std::vector<std::string> worker_queues = {"default"};  // WORKER_QUEUES
  // WORKER_PRIORITIES, kept in strict order (high, normal, low) whatever the input order.
  std::vector<Priority> worker_priorities = {Priority::kHigh, Priority::kNormal, Priority::kLow};
  std::vector<std::string> worker_job_types;  // WORKER_JOB_TYPES; empty: every registered type
  bool worker_builtins = true;                // WORKER_BUILTINS
  std::vector<std::string> worker_plugins;    // WORKER_PLUGINS: paths of .so plug-ins
  std::chrono::milliseconds job_timeout{std::chrono::minutes(30)};        // JOB_TIMEOUT, > 0
  int max_retries = 3;                                                    // MAX_RETRIES, 0..100
  std::chrono::milliseconds lease_timeout{std::chrono::seconds(30)};      // LEASE_TIMEOUT, > 0
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(30)};     // SHUTDOWN_GRACE, >= 0
  std::chrono::milliseconds result_ttl_success{std::chrono::hours(24)};   // RESULT_TTL_SUCCESS
  std::chrono::milliseconds result_ttl_failure{std::chrono::hours(168)};  // RESULT_TTL_FAILURE
  std::chrono::milliseconds queue_prune_after{std::chrono::hours(168)};   // QUEUE_PRUNE_AFTER
  std::string api_token;           // BANANAS_API_TOKEN; empty: the API is open. Never printed.
  int64_t api_max_body = 1 << 20;  // API_MAX_BODY in bytes (1 MiB)
  LogLevel log_level = LogLevel::kInfo;        // LOG_LEVEL
  LogFormat log_format = LogFormat::kConsole;  // LOG_FORMAT
  std::string prefix = "bananas";              // BANANAS_PREFIX
  // DLQ_MAX: dead jobs kept per queue; the scheduler deletes the oldest beyond it. 0: no cap.
  int64_t dlq_max = 100'000;
  // DLQ_TTL: how long a dead job is kept before the scheduler deletes it. 0: forever.
  std::chrono::milliseconds dlq_ttl{std::chrono::hours(30 * 24)};
  // MAX_RESULT_BYTES: a larger job result fails the job (not stored, not retried).
  int64_t max_result_bytes = 1 << 20;
  // --config FILE (scheduler and dev; no variable): cron schedules, config_file.h.
  std::string config_file;

  // REDIS_URL with any password masked; "" when unset.
  std::string RedactedRedisUrl() const;
};

inline constexpr std::string_view kDefaultRedisUrl = "redis://127.0.0.1:6379/0";

int PprofPortDefault(Service service);

// One row of the settings table.
struct Variable {
  std::string_view name;  // environment variable, e.g. "WORKER_CONCURRENCY"
  std::string_view flag;  // long flag without dashes, e.g. "concurrency"
  std::string_view help;  // one line: what it sets, the accepted form and the default
  // Services whose --help shows the flag. Every service validates every variable.
  bool api = false;
  bool worker = false;
  bool scheduler = false;
  bool dev = false;
  bool secret = false;  // the value is never echoed (not even in an error message)

  bool UsedBy(Service service) const;
};

// All variables, in the order --help lists them.
const std::vector<Variable>& Variables();
// The row for `name`, or nullptr.
const Variable* FindVariable(std::string_view name);

// Returns the value of an environment variable, or nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
// The process environment (getenv).
EnvLookup ProcessEnv();
// Values from flags, keyed by variable name ("WORKER_CONCURRENCY" -> "20").
using Overrides = std::map<std::string, std::string, std::less<>>;

// Defaults for `service`, then the environment, then `overrides`. InvalidArgument (message
// starting with the variable name) for the first bad value, or for an override whose key is
// not a known variable.
[[nodiscard]] Result<Config> LoadConfig(Service service, const EnvLookup& env,
                                        const Overrides& overrides = {});

}  // namespace bananas::app
