#include "redis/self_check.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "redis/command.h"
#include "redis/connection.h"

namespace bananas::redis {
namespace {

constexpr size_t kSlowlogArgumentBytes = 64;

int64_t ToInt(std::string_view text) {
  int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::string Field(const std::map<std::string, std::string, std::less<>>& info,
                  std::string_view key) {
  auto it = info.find(key);
  return it == info.end() ? std::string() : it->second;
}

// CONFIG GET answers [name, value] (RESP2); an error reply (CONFIG renamed away) or an
// empty array gives nullopt.
std::optional<std::string> ConfigValue(const Reply& reply) {
  if (!reply.is_array() || reply.elements.size() < 2) return std::nullopt;
  return reply.elements[1].str;
}

std::string MinimumVersion() {
  return std::to_string(kMinimumVersionMajor) + "." + std::to_string(kMinimumVersionMinor);
}

}  // namespace

std::map<std::string, std::string, std::less<>> ParseInfo(std::string_view info) {
  std::map<std::string, std::string, std::less<>> out;
  while (!info.empty()) {
    size_t end = info.find('\n');
    std::string_view line = info.substr(0, end);
    info.remove_prefix(end == std::string_view::npos ? info.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    out.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return out;
}

bool VersionAtLeast(std::string_view version, int major, int minor) {
  int found_major = -1;
  int found_minor = -1;
  const char* end = version.data() + version.size();
  auto [after_major, e1] = std::from_chars(version.data(), end, found_major);
  if (e1 != std::errc() || after_major == end || *after_major != '.') return false;
  auto [after_minor, e2] = std::from_chars(after_major + 1, end, found_minor);
  if (e2 != std::errc()) return false;
  return found_major > major || (found_major == major && found_minor >= minor);
}

void EvaluateChecks(RedisReport& report) {
  report.checks.clear();

  CheckResult version{"version", CheckLevel::kOk, "", ""};
  if (VersionAtLeast(report.version, kMinimumVersionMajor, kMinimumVersionMinor)) {
    version.message = "Redis " + report.version + " (Bananas needs " + MinimumVersion() + "+)";
  } else {
    version.level = CheckLevel::kFail;
    version.message = "Redis " + (report.version.empty() ? "(unknown version)" : report.version) +
                      " is too old: Bananas' Lua scripts use the #!lua shebang (all-or-nothing "
                      "under maxmemory) and sharded pub/sub (SPUBLISH), both Redis " +
                      MinimumVersion();
    version.fix = "upgrade Redis to " + MinimumVersion() + " or later";
  }
  report.checks.push_back(std::move(version));

  CheckResult policy{"maxmemory-policy", CheckLevel::kOk, "", ""};
  if (report.maxmemory_policy == "noeviction") {
    policy.message = "noeviction: a full Redis refuses writes rather than dropping jobs";
  } else {
    policy.level = CheckLevel::kWarn;
    policy.message =
        "maxmemory-policy is " +
        (report.maxmemory_policy.empty() ? std::string("unknown") : report.maxmemory_policy) +
        ": under memory pressure Redis evicts keys, and an evicted job hash or queue list is a "
        "job lost without a trace";
    policy.fix =
        "redis-cli CONFIG SET maxmemory-policy noeviction, and set maxmemory-policy noeviction "
        "in redis.conf so that it survives a restart";
  }
  report.checks.push_back(std::move(policy));

  CheckResult persistence{"persistence", CheckLevel::kOk, "", ""};
  bool rdb_on = !report.rdb_save.empty() && report.rdb_save != "unknown";
  if (report.aof_enabled) {
    persistence.message = "AOF on" + std::string(rdb_on ? ", RDB save points " + report.rdb_save
                                                        : std::string());
  } else if (rdb_on) {
    persistence.message = "RDB only (save " + report.rdb_save +
                          "): jobs written since the last snapshot are lost if Redis crashes";
  } else if (report.rdb_save == "unknown") {
    persistence.level = CheckLevel::kWarn;
    persistence.message =
        "AOF off and the RDB save points cannot be read (CONFIG is refused): if there are none, "
        "a Redis restart loses every job";
    persistence.fix = "enable AOF (appendonly yes, appendfsync everysec) in redis.conf";
  } else {
    persistence.level = CheckLevel::kWarn;
    persistence.message =
        "persistence is off (no AOF, no RDB save points): a Redis restart loses every job";
    persistence.fix =
        "redis-cli CONFIG SET appendonly yes (appendfsync everysec), and appendonly yes in "
        "redis.conf; or at least RDB save points (save 60 1000)";
  }
  report.checks.push_back(std::move(persistence));
}

Result<RedisReport> CheckRedis(Connection& connection, int slowlog_entries) {
  Pipeline pipeline;
  pipeline.Add(Command("INFO"));
  pipeline.Add(Command("CONFIG").Arg("GET").Arg("maxmemory-policy"));
  pipeline.Add(Command("CONFIG").Arg("GET").Arg("save"));
  pipeline.Add(Command("CONFIG").Arg("GET").Arg("appendonly"));
  pipeline.Add(Command("SLOWLOG").Arg("GET").Arg(std::max(slowlog_entries, 0)));
  Result<std::vector<Reply>> replies = connection.Run(pipeline);
  if (!replies) return replies.status().WithContext("redis self-check");
  const std::vector<Reply>& r = *replies;
  if (r[0].is_error()) {
    return Status::Unavailable("redis self-check: INFO answered " + r[0].Describe(120));
  }
  auto info = ParseInfo(r[0].str);

  RedisReport report;
  report.endpoint = connection.options().Endpoint();
  report.version = Field(info, "redis_version");
  report.mode = Field(info, "redis_mode");
  report.uptime_seconds = ToInt(Field(info, "uptime_in_seconds"));
  report.used_memory_bytes = ToInt(Field(info, "used_memory"));
  report.maxmemory_bytes = ToInt(Field(info, "maxmemory"));
  report.connected_clients = ToInt(Field(info, "connected_clients"));
  report.ops_per_second = ToInt(Field(info, "instantaneous_ops_per_sec"));
  report.rdb_last_save_unix = ToInt(Field(info, "rdb_last_save_time"));
  report.maxmemory_policy = ConfigValue(r[1]).value_or(Field(info, "maxmemory_policy"));
  std::optional<std::string> save = ConfigValue(r[2]);
  report.rdb_save = save ? *save : "unknown";
  std::optional<std::string> appendonly = ConfigValue(r[3]);
  report.aof_enabled = appendonly ? *appendonly == "yes" : Field(info, "aof_enabled") == "1";

  if (r[4].is_array()) {
    for (const Reply& entry : r[4].elements) {
      // [id, unix time, duration µs, [args...], client addr, client name] (Redis 4+)
      if (!entry.is_array() || entry.elements.size() < 4) continue;
      SlowlogEntry e;
      e.id = entry.elements[0].integer;
      e.unix_seconds = entry.elements[1].integer;
      e.duration_us = entry.elements[2].integer;
      for (const Reply& arg : entry.elements[3].elements) {
        if (!e.command.empty()) e.command += ' ';
        e.command += arg.str.substr(0, kSlowlogArgumentBytes);
        if (arg.str.size() > kSlowlogArgumentBytes) e.command += "...";
      }
      if (entry.elements.size() > 4) e.client = entry.elements[4].str;
      report.slowlog.push_back(std::move(e));
    }
  }
  EvaluateChecks(report);
  return report;
}

}  // namespace bananas::redis
