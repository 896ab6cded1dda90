#include "app/observability.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "api/time_format.h"
#include "obs/log.h"
#include "queue/depth_collector.h"
#include "redis/connection.h"

namespace bananas::app {
namespace {

// The start-up check must not hold a service back for long when Redis is slow or down.
constexpr std::chrono::milliseconds kCheckTimeout{2000};
constexpr std::chrono::seconds kRecheckPeriod{3};

obs::LogLevel LogLevelOf(const Config& config) {
  switch (config.log_level) {
    case LogLevel::kTrace:
    case LogLevel::kDebug: return obs::LogLevel::kDebug;
    case LogLevel::kInfo: return obs::LogLevel::kInfo;
    case LogLevel::kWarn: return obs::LogLevel::kWarn;
    case LogLevel::kError: return obs::LogLevel::kError;
  }
  return obs::LogLevel::kInfo;
}

Result<redis::RedisReport> CheckOnce(const redis::Options& options) {
  auto connection = redis::Connection::Open(options);
  if (!connection) return connection.status();
  return redis::CheckRedis(**connection);
}

// Logs the report; FailedPrecondition when a check FAILs.
Status LogReport(const redis::RedisReport& report) {
  std::string failed;
  for (const redis::CheckResult& check : report.checks) {
    switch (check.level) {
      case redis::CheckLevel::kOk:
        obs::Log(obs::LogLevel::kInfo, "redis self-check ok",
                 {{"check", check.name}, {"detail", check.message}});
        break;
      case redis::CheckLevel::kWarn:
        obs::Log(obs::LogLevel::kWarn, "REDIS SELF-CHECK WARNING: jobs are at risk",
                 {{"check", check.name}, {"problem", check.message}, {"fix", check.fix}});
        break;
      case redis::CheckLevel::kFail:
        obs::Log(obs::LogLevel::kError, "REDIS SELF-CHECK FAILED",
                 {{"check", check.name}, {"problem", check.message}, {"fix", check.fix}});
        failed += (failed.empty() ? "" : "; ") + check.message + " (fix: " + check.fix + ")";
        break;
    }
  }
  if (!failed.empty()) {
    return Status::FailedPrecondition("redis self-check failed on " + report.endpoint + ": " +
                                      failed);
  }
  return Status::Ok();
}

std::string Bytes(int64_t bytes) {
  char buffer[64];
  if (bytes >= (1LL << 30)) {
    std::snprintf(buffer, sizeof buffer, "%.1f GiB", static_cast<double>(bytes) / (1LL << 30));
  } else if (bytes >= (1LL << 20)) {
    std::snprintf(buffer, sizeof buffer, "%.1f MiB", static_cast<double>(bytes) / (1LL << 20));
  } else if (bytes >= 1024) {
    std::snprintf(buffer, sizeof buffer, "%.1f KiB", static_cast<double>(bytes) / 1024);
  } else {
    std::snprintf(buffer, sizeof buffer, "%lld B", static_cast<long long>(bytes));
  }
  return buffer;
}

std::string Pad(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

}  // namespace

void ConfigureLogs(const Config& config) {
  obs::ConfigureLogging(LogLevelOf(config), config.log_format == LogFormat::kJson
                                                ? obs::LogFormat::kJson
                                                : obs::LogFormat::kConsole);
}

std::shared_ptr<obs::Metrics> MakeMetrics(const Config& config) {
  auto metrics = std::make_shared<obs::Metrics>();
  auto options = redis::Options::FromUrl(config.redis_url);
  if (options) {
    // The collector's own connection records no round trips: its options would hold the
    // registry that holds the collector, a reference cycle (leaked at exit, LeakSanitizer).
    auto depth = std::make_shared<queue::DepthCollector>(*options, config.prefix);
    metrics->AddCollector([depth](obs::Exposition& out) { depth->Collect(out); });
  }
  return metrics;
}

Status StartSelfCheck(const Config& config) {
  auto options = redis::Options::FromUrl(config.redis_url);
  if (!options) return options.status();
  options->connect_timeout = std::min(options->connect_timeout, kCheckTimeout);
  options->io_timeout = std::min(options->io_timeout, kCheckTimeout);
  Result<redis::RedisReport> report = CheckOnce(*options);
  if (report) return LogReport(*report);
  obs::Log(obs::LogLevel::kWarn, "redis self-check deferred: Redis does not answer yet",
           {{"endpoint", options->Endpoint()}, {"error", report.status().message()}});
  std::thread([options = *options] {
    while (true) {
      std::this_thread::sleep_for(kRecheckPeriod);
      Result<redis::RedisReport> later = CheckOnce(options);
      if (!later) continue;
      Status checked = LogReport(*later);
      if (checked.ok()) return;
      std::fprintf(stderr, "bananas: %s\n", checked.message().c_str());
      std::fflush(stderr);
      std::_Exit(1);
    }
  }).detach();
  return Status::Ok();
}

std::string DescribeReport(const redis::RedisReport& report) {
  std::string out = "Redis " + report.endpoint + "\n\nCHECKS\n";
  for (const redis::CheckResult& c : report.checks) {
    out += Pad(std::string(redis::CheckLevelName(c.level)), 6) + Pad(c.name, 18) + c.message +
           "\n";
    if (!c.fix.empty()) out += Pad("", 24) + "fix: " + c.fix + "\n";
  }
  std::string persistence = report.aof_enabled ? "AOF on" : "AOF off";
  persistence += ", RDB save points: " + (report.rdb_save.empty() ? "none" : report.rdb_save);
  const std::pair<std::string, std::string> rows[] = {
      {"version", report.version + (report.mode.empty() ? "" : " (" + report.mode + ")")},
      {"uptime", std::to_string(report.uptime_seconds) + " s"},
      {"used memory", Bytes(report.used_memory_bytes)},
      {"maxmemory", report.maxmemory_bytes == 0 ? "0 (no limit)" : Bytes(report.maxmemory_bytes)},
      {"maxmemory-policy", report.maxmemory_policy},
      {"persistence", persistence},
      {"connected clients", std::to_string(report.connected_clients)},
      {"ops/s", std::to_string(report.ops_per_second)},
  };
  out += "\nINFO\n";
  for (const auto& [name, value] : rows) out += Pad(name, 19) + value + "\n";
  out += "\nSLOWLOG (last " + std::to_string(report.slowlog.size()) + ")\n";
  if (report.slowlog.empty()) out += "(empty)\n";
  for (const redis::SlowlogEntry& e : report.slowlog) {
    out += Pad("#" + std::to_string(e.id), 7) + Pad(api::FormatRfc3339(e.unix_seconds * 1000), 26) +
           Pad(std::to_string(e.duration_us) + " us", 12) + Pad(e.client, 22) + e.command + "\n";
  }
  out.pop_back();
  return out;
}

}  // namespace bananas::app
