#include "app/observability.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "api/time_format.h"
#include "base/clock.h"
#include "obs/log.h"
#include "queue/broker.h"
#include "queue/depth_collector.h"
#include "redis/connection.h"

namespace bananas::app {
namespace {

// The start-up check must not hold a service back for long when Redis is slow or down.
constexpr std::chrono::milliseconds kCheckTimeout{2000};
constexpr std::chrono::seconds kRecheckPeriod{3};
// Clock offset to Redis: measured again this often; a skew over kSkewWarningUs is logged at
// warn (it is corrected either way).
constexpr std::chrono::seconds kClockPeriod{30};
constexpr int64_t kSkewWarningUs = 1'000'000;

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

// Whether Redis holds keys in the layout this version reads (Broker::CheckLayout):
// FailedPrecondition naming the fix when it does not; another error when Redis did not answer.
Status CheckLayoutOnce(const redis::Options& options, const std::string& prefix) {
  auto connection = redis::Connection::Open(options);
  if (!connection) return connection.status();
  queue::BrokerOptions broker_options;
  broker_options.prefix = prefix;
  queue::Broker broker(**connection, broker_options, Clock::System());
  return broker.CheckLayout();
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

// Sets the process's clock offset from a measurement and says so: the first measurement
// always, later ones only when the offset moved by more than kSkewWarningUs (an NTP step, a
// resumed VM).
void ApplyClockSample(const redis::ClockSample& sample, bool first) {
  int64_t previous = ClockOffsetUs();
  SetClockOffsetUs(sample.offset_us);
  if (!first && std::llabs(sample.offset_us - previous) <= kSkewWarningUs) return;
  double offset_ms = static_cast<double>(sample.offset_us) / 1000.0;
  if (std::llabs(sample.offset_us) > kSkewWarningUs) {
    obs::Log(obs::LogLevel::kWarn,
             "clock skew: this host's clock differs from Redis' by more than 1s; corrected (job "
             "times follow Redis' clock)",
             {{"offset_ms", offset_ms},
              {"round_trip_us", sample.round_trip_us},
              {"fix", "synchronise this host's clock (chrony, ntpd)"}});
  } else {
    obs::Log(obs::LogLevel::kInfo, "clock offset measured",
             {{"offset_ms", offset_ms}, {"round_trip_us", sample.round_trip_us}});
  }
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
  if (report) {
    BANANAS_RETURN_IF_ERROR(LogReport(*report));
    // A service never runs on keys of another layout: layout-1 pending ids would look like
    // tombstones to this version's dequeue and be dropped.
    Status layout = CheckLayoutOnce(*options, config.prefix);
    if (layout.ok() || layout.IsFailedPrecondition()) return layout;
  }
  obs::Log(obs::LogLevel::kWarn, "redis self-check deferred: Redis does not answer yet",
           {{"endpoint", options->Endpoint()}, {"error", report.status().message()}});
  std::thread([options = *options, prefix = config.prefix] {
    while (true) {
      std::this_thread::sleep_for(kRecheckPeriod);
      Result<redis::RedisReport> later = CheckOnce(options);
      if (!later) continue;
      Status checked = LogReport(*later);
      if (checked.ok()) checked = CheckLayoutOnce(options, prefix);
      if (checked.ok()) return;
      if (!checked.IsFailedPrecondition()) continue;  // Redis went away again: retry
      std::fprintf(stderr, "bananas: %s\n", checked.message().c_str());
      std::fflush(stderr);
      std::_Exit(1);
    }
  }).detach();
  return Status::Ok();
}

std::unique_ptr<redis::ClockFollower> FollowRedisClock(const Config& config) {
  if (TestClockShiftUs() != 0) {
    obs::Log(obs::LogLevel::kWarn, "BANANAS_TEST_CLOCK_OFFSET is set: this process plays a host "
                                   "whose clock is wrong (tests only)",
             {{"shift_ms", static_cast<double>(TestClockShiftUs()) / 1000.0}});
  }
  auto options = redis::Options::FromUrl(config.redis_url);
  if (!options) return nullptr;  // LoadConfig validated it: not reached
  options->connect_timeout = std::min(options->connect_timeout, kCheckTimeout);
  options->io_timeout = std::min(options->io_timeout, kCheckTimeout);

  bool measured = false;
  if (auto connection = redis::Connection::Open(*options)) {
    Result<redis::ClockSample> sample = redis::MeasureClockOffset(**connection);
    if (sample) {
      ApplyClockSample(*sample, /*first=*/true);
      measured = true;
    } else {
      obs::Log(obs::LogLevel::kWarn, "clock offset not measured yet: Redis does not answer",
               {{"endpoint", options->Endpoint()}, {"error", sample.status().message()}});
    }
  }
  redis::ClockFollowerOptions follow;
  follow.period = kClockPeriod;
  // Not measured at start: every job time waits on it, so try again within a second.
  follow.first_after = measured ? std::chrono::milliseconds(kClockPeriod)
                                : std::chrono::milliseconds(1000);
  follow.on_sample = [first = !measured](const redis::ClockSample& sample) mutable {
    ApplyClockSample(sample, first);
    first = false;
  };
  Result<std::unique_ptr<redis::ClockFollower>> follower =
      redis::ClockFollower::Start(*options, std::move(follow));
  if (!follower) {
    obs::Log(obs::LogLevel::kWarn, "clock offset follower not started",
             {{"error", follower.status().message()}});
    return nullptr;
  }
  return std::move(*follower);
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
