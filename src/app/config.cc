#include "app/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "base/duration.h"
#include "redis/options.h"

namespace bananas::app {
namespace {

// Help texts say the default; if you change a default in Config, change its line here.
const std::vector<Variable> kVariables = {
    // name, flag, help, api, worker, scheduler, dev, secret
    {"REDIS_URL", "redis-url",
     "redis://[user:pass@]host:port/db (rediss:// for TLS); default redis://127.0.0.1:6379/0, "
     "dev: its own redis-server",
     true, true, true, true, true},
    {"API_PORT", "api-port", "HTTP API port; default 8080", true, false, false, true},
    {"PPROF_PORT", "pprof-port",
     "admin port (pprof, /metrics, /healthz); default 6060 api/dev, 6061 worker, 6062 scheduler",
     true, true, true, true},
    {"PPROF_BIND", "pprof-bind", "address the admin port binds; default 127.0.0.1", true, true,
     true, true},
    {"WORKER_CONCURRENCY", "concurrency", "jobs run at once, 1..10000; default 10", false, true,
     false, true},
    {"WORKER_PREFETCH", "prefetch",
     "jobs leased beyond the concurrency while jobs are short (under 1 ms), 0..100000; "
     "default 32",
     false, true, false, true},
    {"WORKER_QUEUES", "queues", "comma-separated routing keys served; default default", false, true,
     false, true},
    {"WORKER_PRIORITIES", "priorities",
     "comma-separated priorities taken (high,normal,low); default all three", false, true, false,
     true},
    {"WORKER_JOB_TYPES", "job-types",
     "comma-separated job names run; default every registered handler", false, true, false, true},
    {"WORKER_BUILTINS", "builtins",
     "register the built-in handlers (noop, echo, sleep, fail, cpu, alloc): true|false; "
     "default true",
     false, true, false, true},
    {"WORKER_PLUGINS", "plugins", "comma-separated paths of handler plug-ins (.so) to load", false,
     true, false, true},
    {"JOB_TIMEOUT", "job-timeout", "a job's run time limit unless it sets one; default 30m", false,
     true, false, true},
    {"MAX_RETRIES", "max-retries",
     "retries of a submitted job unless it sets them, 0..100; "
     "default 3",
     true, false, false, true},
    {"LEASE_TIMEOUT", "lease-timeout",
     "a running job is recovered this long after its worker's last heartbeat; default 30s", false,
     true, true, true},
    {"SHUTDOWN_GRACE", "shutdown-grace",
     "on SIGTERM, time running jobs get to finish before they are handed back; default 30s", false,
     true, false, true},
    {"RESULT_TTL_SUCCESS", "result-ttl-success",
     "how long a completed job and its result are kept; default 24h", false, true, false, true},
    {"RESULT_TTL_FAILURE", "result-ttl-failure",
     "how long a failed or cancelled job is kept; default 168h", true, true, false, true},
    {"QUEUE_PRUNE_AFTER", "queue-prune-after",
     "a queue with no job that no service used for this long leaves the registry; 0 never; "
     "default 168h",
     false, false, true, true},
    {"DLQ_MAX", "dlq-max",
     "dead jobs kept per queue, the oldest deleted first (by the scheduler); 0 = no cap; "
     "default 100000",
     false, false, true, true},
    {"DLQ_TTL", "dlq-ttl",
     "dead jobs older than this are deleted (by the scheduler); 0 = kept until purged; "
     "default 720h (30 days)",
     false, false, true, true},
    {"MAX_RESULT_BYTES", "max-result-bytes",
     "largest job result stored, bytes or KiB/MiB; a larger one fails the job (to the DLQ, "
     "not retried); default 1MiB",
     false, true, false, true},
    {"BANANAS_API_TOKEN", "api-token",
     "bearer token the API requires (prefer the variable: flags show in ps); default none", true,
     false, false, true, true},
    {"API_MAX_BODY", "api-max-body", "largest request body, bytes or KiB/MiB; default 1MiB", true,
     false, false, true},
    {"LOG_LEVEL", "log-level", "trace|debug|info|warn|error; default info", true, true, true, true},
    {"LOG_FORMAT", "log-format", "console|json; default console", true, true, true, true},
    {"BANANAS_PREFIX", "prefix", "Redis key prefix; default bananas", true, true, true, true},
};

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// One value being applied: where it came from decides how errors name it.
struct Setting {
  const Variable& variable;
  std::string_view value;  // trimmed, non-empty
  bool from_flag;

  // "WORKER_CONCURRENCY", or "WORKER_CONCURRENCY (--concurrency)" for a flag's value.
  std::string Label() const {
    std::string label(variable.name);
    if (from_flag) {
      label += " (--";
      label += variable.flag;
      label += ")";
    }
    return label;
  }

  Status Bad(std::string_view expected) const {
    std::string msg = Label();
    if (variable.secret) {
      msg += ": invalid value (expected ";
    } else {
      msg += ": invalid value \"";
      msg += value;
      msg += "\" (expected ";
    }
    msg += expected;
    msg += ")";
    return Status::InvalidArgument(msg);
  }

  // An error from a shared validator ("queue: ...") restated under this variable.
  Status Wrap(std::string_view item, const Status& status) const {
    return Status::InvalidArgument(Label() + ": invalid value \"" + std::string(item) + "\" (" +
                                   status.message() + ")");
  }
};

Result<int64_t> ParseInteger(const Setting& setting, int64_t min, int64_t max) {
  std::string expected = "an integer " + std::to_string(min) + ".." + std::to_string(max);
  int64_t number = 0;
  const char* begin = setting.value.data();
  const char* end = begin + setting.value.size();
  auto [ptr, ec] = std::from_chars(begin, end, number);
  if (ec != std::errc() || ptr != end || number < min || number > max) {
    return setting.Bad(expected);
  }
  return number;
}

Result<bool> ParseBool(const Setting& setting) {
  std::string lower = Lower(setting.value);
  if (lower == "true" || lower == "1" || lower == "yes") return true;
  if (lower == "false" || lower == "0" || lower == "no") return false;
  return setting.Bad("true, false, 1, 0, yes or no");
}

// Comma-separated, each entry trimmed. An empty entry ("a,,b") is an error, not skipped: it
// is more often a typo than an intent.
Result<std::vector<std::string>> ParseList(const Setting& setting) {
  std::vector<std::string> items;
  std::string_view rest = setting.value;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    if (item.empty()) return setting.Bad("a comma-separated list with no empty entries");
    items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  for (size_t i = 0; i < items.size(); ++i) {
    if (std::find(items.begin(), items.begin() + static_cast<ptrdiff_t>(i), items[i]) !=
        items.begin() + static_cast<ptrdiff_t>(i)) {
      return Status::InvalidArgument(setting.Label() + ": \"" + items[i] + "\" is listed twice");
    }
  }
  return items;
}

// A duration of at least `min`.
Result<std::chrono::milliseconds> ParseDurationAtLeast(const Setting& setting,
                                                       std::chrono::milliseconds min) {
  Result<std::chrono::milliseconds> duration = ParseDuration(setting.value, setting.Label());
  if (!duration) return duration.status();
  if (*duration < min) {
    return setting.Bad(min.count() == 0 ? "a duration such as 250ms, 30s, 5m or 1h"
                                        : "a duration of at least " + FormatDuration(min));
  }
  return duration;
}

Status ValidatePrefix(const Setting& setting) {
  constexpr std::string_view kExpected = "1 to 64 characters of [A-Za-z0-9_.:-]";
  if (setting.value.size() > 64) return setting.Bad(kExpected);
  for (char c : setting.value) {
    // No braces: the prefix sits before a {queue} hash tag, and a brace of its own would
    // change which part of the key Redis Cluster hashes.
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != ':' &&
        c != '-') {
      return setting.Bad(kExpected);
    }
  }
  return Status::Ok();
}

// Applies one setting to `config`. If you add a variable, add its case here.
Status Apply(const Setting& setting, Config& config) {
  std::string_view name = setting.variable.name;
  constexpr std::chrono::milliseconds kPositive{1};
  constexpr std::chrono::milliseconds kNonNegative{0};

  if (name == "REDIS_URL") {
    Result<redis::Options> options = redis::Options::FromUrl(setting.value);
    if (!options) {
      // FromUrl names REDIS_URL and redacts; add the flag when the value came from one.
      std::string msg = options.status().message();
      if (setting.from_flag && msg.starts_with(name)) msg.insert(name.size(), " (--redis-url)");
      return Status::InvalidArgument(msg);
    }
    config.redis_url = std::string(setting.value);
  } else if (name == "API_PORT" || name == "PPROF_PORT") {
    Result<int64_t> port = ParseInteger(setting, 0, 65535);
    if (!port) return port.status();
    (name == "API_PORT" ? config.api_port : config.pprof_port) = static_cast<int>(*port);
  } else if (name == "PPROF_BIND") {
    for (char c : setting.value) {
      if (std::isspace(static_cast<unsigned char>(c))) {
        return setting.Bad("an IP address or host name");
      }
    }
    config.pprof_bind = std::string(setting.value);
  } else if (name == "WORKER_CONCURRENCY") {
    Result<int64_t> concurrency = ParseInteger(setting, 1, 10000);
    if (!concurrency) return concurrency.status();
    config.worker_concurrency = static_cast<int>(*concurrency);
  } else if (name == "WORKER_PREFETCH") {
    Result<int64_t> prefetch = ParseInteger(setting, 0, 100000);
    if (!prefetch) return prefetch.status();
    config.worker_prefetch = static_cast<int>(*prefetch);
  } else if (name == "WORKER_QUEUES") {
    Result<std::vector<std::string>> queues = ParseList(setting);
    if (!queues) return queues.status();
    for (const std::string& queue : *queues) {
      Status valid = ValidateQueueName(queue);
      if (!valid.ok()) return setting.Wrap(queue, valid);
    }
    config.worker_queues = std::move(*queues);
  } else if (name == "WORKER_PRIORITIES") {
    Result<std::vector<std::string>> names = ParseList(setting);
    if (!names) return names.status();
    std::vector<Priority> priorities;
    for (const std::string& priority_name : *names) {
      Result<Priority> priority = ParsePriority(Lower(priority_name));
      if (!priority) return setting.Bad("a comma-separated list of high, normal, low");
      priorities.push_back(*priority);
    }
    // Strict order among the priorities taken is the worker's promise; the input order means
    // nothing, so it is normalised rather than refused.
    std::sort(priorities.begin(), priorities.end());
    priorities.erase(std::unique(priorities.begin(), priorities.end()), priorities.end());
    config.worker_priorities = std::move(priorities);
  } else if (name == "WORKER_JOB_TYPES") {
    Result<std::vector<std::string>> types = ParseList(setting);
    if (!types) return types.status();
    for (const std::string& type : *types) {
      Status valid = ValidateJobName(type);
      if (!valid.ok()) return setting.Wrap(type, valid);
    }
    config.worker_job_types = std::move(*types);
  } else if (name == "WORKER_BUILTINS") {
    Result<bool> builtins = ParseBool(setting);
    if (!builtins) return builtins.status();
    config.worker_builtins = *builtins;
  } else if (name == "WORKER_PLUGINS") {
    Result<std::vector<std::string>> plugins = ParseList(setting);
    if (!plugins) return plugins.status();
    config.worker_plugins = std::move(*plugins);
  } else if (name == "JOB_TIMEOUT") {
    Result<std::chrono::milliseconds> timeout = ParseDurationAtLeast(setting, kPositive);
    if (!timeout) return timeout.status();
    config.job_timeout = *timeout;
  } else if (name == "MAX_RETRIES") {
    Result<int64_t> retries = ParseInteger(setting, 0, 100);
    if (!retries) return retries.status();
    config.max_retries = static_cast<int>(*retries);
  } else if (name == "LEASE_TIMEOUT") {
    // Below 100ms, a heartbeat cannot renew a lease reliably across one Redis round trip
    // under load; jobs would be recovered from live workers.
    Result<std::chrono::milliseconds> lease =
        ParseDurationAtLeast(setting, std::chrono::milliseconds(100));
    if (!lease) return lease.status();
    config.lease_timeout = *lease;
  } else if (name == "QUEUE_PRUNE_AFTER") {
    Result<std::chrono::milliseconds> after = ParseDurationAtLeast(setting, kNonNegative);
    if (!after) return after.status();
    config.queue_prune_after = *after;
  } else if (name == "SHUTDOWN_GRACE") {
    Result<std::chrono::milliseconds> grace = ParseDurationAtLeast(setting, kNonNegative);
    if (!grace) return grace.status();
    config.shutdown_grace = *grace;
  } else if (name == "RESULT_TTL_SUCCESS" || name == "RESULT_TTL_FAILURE") {
    // Redis takes whole milliseconds, and 0 would delete a result the moment it is written.
    Result<std::chrono::milliseconds> ttl = ParseDurationAtLeast(setting, kPositive);
    if (!ttl) return ttl.status();
    (name == "RESULT_TTL_SUCCESS" ? config.result_ttl_success : config.result_ttl_failure) = *ttl;
  } else if (name == "DLQ_MAX") {
    Result<int64_t> max = ParseInteger(setting, 0, 1'000'000'000);
    if (!max) return max.status();
    config.dlq_max = *max;
  } else if (name == "DLQ_TTL") {
    Result<std::chrono::milliseconds> ttl = ParseDurationAtLeast(setting, kNonNegative);
    if (!ttl) return ttl.status();
    config.dlq_ttl = *ttl;
  } else if (name == "MAX_RESULT_BYTES") {
    // Redis refuses a string over 512 MiB; the cap exists so that results stay far below.
    Result<int64_t> size = ParseSize(setting.value, setting.Label());
    if (!size) return size.status();
    if (*size < 1 || *size > (int64_t{512} << 20)) {
      return setting.Bad("a size from 1 byte to 512MiB");
    }
    config.max_result_bytes = *size;
  } else if (name == "BANANAS_API_TOKEN") {
    config.api_token = std::string(setting.value);
  } else if (name == "API_MAX_BODY") {
    Result<int64_t> size = ParseSize(setting.value, setting.Label());
    if (!size) return size.status();
    if (*size < 1 || *size > (int64_t{1} << 30)) return setting.Bad("a size from 1 byte to 1GiB");
    config.api_max_body = *size;
  } else if (name == "LOG_LEVEL") {
    std::string level = Lower(setting.value);
    if (level == "trace") {
      config.log_level = LogLevel::kTrace;
    } else if (level == "debug") {
      config.log_level = LogLevel::kDebug;
    } else if (level == "info") {
      config.log_level = LogLevel::kInfo;
    } else if (level == "warn" || level == "warning") {
      config.log_level = LogLevel::kWarn;
    } else if (level == "error") {
      config.log_level = LogLevel::kError;
    } else {
      return setting.Bad("trace, debug, info, warn or error");
    }
  } else if (name == "LOG_FORMAT") {
    std::string format = Lower(setting.value);
    if (format == "console") {
      config.log_format = LogFormat::kConsole;
    } else if (format == "json") {
      config.log_format = LogFormat::kJson;
    } else {
      return setting.Bad("console or json");
    }
  } else if (name == "BANANAS_PREFIX") {
    BANANAS_RETURN_IF_ERROR(ValidatePrefix(setting));
    config.prefix = std::string(setting.value);
  } else {
    return Status::Internal("config: no case for variable " + std::string(name));
  }
  return Status::Ok();
}

}  // namespace

std::string_view ServiceName(Service service) {
  switch (service) {
    case Service::kApi:
      return "api";
    case Service::kWorker:
      return "worker";
    case Service::kScheduler:
      return "scheduler";
    case Service::kDev:
      return "dev";
  }
  return "?";
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}

std::string_view LogFormatName(LogFormat format) {
  return format == LogFormat::kJson ? "json" : "console";
}

std::string Config::RedactedRedisUrl() const { return redis::RedactUrl(redis_url); }

int PprofPortDefault(Service service) {
  switch (service) {
    case Service::kWorker:
      return 6061;
    case Service::kScheduler:
      return 6062;
    case Service::kApi:
    case Service::kDev:
      return 6060;
  }
  return 6060;
}

bool Variable::UsedBy(Service service) const {
  switch (service) {
    case Service::kApi:
      return api;
    case Service::kWorker:
      return worker;
    case Service::kScheduler:
      return scheduler;
    case Service::kDev:
      return dev;
  }
  return false;
}

const std::vector<Variable>& Variables() { return kVariables; }

const Variable* FindVariable(std::string_view name) {
  for (const Variable& variable : kVariables) {
    if (variable.name == name) return &variable;
  }
  return nullptr;
}

EnvLookup ProcessEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Result<Config> LoadConfig(Service service, const EnvLookup& env, const Overrides& overrides) {
  Config config;
  config.pprof_port = PprofPortDefault(service);

  for (const auto& [name, value] : overrides) {
    if (FindVariable(name) == nullptr) {
      return Status::InvalidArgument("unknown setting \"" + name + "\"");
    }
  }
  for (const Variable& variable : kVariables) {
    // A flag replaces the environment's value unread: the flag is how a user works around a
    // bad inherited value, so a bad value it replaces must not stop the process.
    auto flag = overrides.find(variable.name);
    const bool from_flag = flag != overrides.end();
    std::string raw;
    if (from_flag) {
      raw = flag->second;
    } else if (std::optional<std::string> env_value = env(variable.name)) {
      raw = std::move(*env_value);
    }
    std::string_view value = Trim(raw);
    if (value.empty()) continue;
    BANANAS_RETURN_IF_ERROR(Apply(Setting{variable, value, from_flag}, config));
  }
  if (config.redis_url.empty() && service != Service::kDev) {
    config.redis_url = std::string(kDefaultRedisUrl);
  }
  return config;
}

}  // namespace bananas::app
