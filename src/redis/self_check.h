// The Redis self-check: is this Redis fit to hold jobs? Run by every service at start and by
// `bananas doctor` / GET /api/v1/redis on demand.
//
// Checks, each OK, WARN or FAIL with the fix:
//   version            FAIL below kMinimumVersion: the Lua scripts start with the `#!lua`
//                      shebang and publish job ends with SPUBLISH, both Redis 7.0
//   maxmemory-policy   WARN unless noeviction: an evicting Redis drops job hashes and queue
//                      lists under memory pressure, silently losing jobs
//   persistence        WARN when neither AOF nor any RDB save point is on: a restart loses
//                      every job
// plus the INFO figures an operator looks at first and the last SLOWLOG entries.
//
// One pipelined round trip: INFO, CONFIG GET (policy, save, appendonly) and SLOWLOG GET.
// A Redis that refuses CONFIG (managed services rename it) is read from INFO alone; what
// INFO does not tell (RDB save points) is reported as unknown, with a WARN.
//
// Thread safety: functions over one caller-owned Connection; the report is a plain value.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bananas/status.h"

namespace bananas::redis {

class Connection;

inline constexpr int kMinimumVersionMajor = 7;
inline constexpr int kMinimumVersionMinor = 0;

enum class CheckLevel { kOk, kWarn, kFail };
inline std::string_view CheckLevelName(CheckLevel level) {
  switch (level) {
    case CheckLevel::kOk: return "OK";
    case CheckLevel::kWarn: return "WARN";
    case CheckLevel::kFail: return "FAIL";
  }
  return "FAIL";
}

struct CheckResult {
  std::string name;  // "version", "maxmemory-policy", "persistence"
  CheckLevel level = CheckLevel::kOk;
  std::string message;  // what was found and why it matters
  std::string fix;      // empty when OK
};

struct SlowlogEntry {
  int64_t id = 0;
  int64_t unix_seconds = 0;
  int64_t duration_us = 0;
  std::string command;  // arguments joined by spaces, each cut to 64 bytes
  std::string client;   // address, when Redis gives it
};

struct RedisReport {
  std::string endpoint;  // host:port/db, never the password
  std::string version;
  std::string mode;  // standalone, cluster, sentinel
  int64_t uptime_seconds = 0;
  int64_t used_memory_bytes = 0;
  int64_t maxmemory_bytes = 0;  // 0: no limit
  std::string maxmemory_policy;
  bool aof_enabled = false;
  // RDB save points as CONFIG GET save answers them ("3600 1 300 100"); empty: none;
  // "unknown" when CONFIG is refused.
  std::string rdb_save;
  int64_t rdb_last_save_unix = 0;
  int64_t connected_clients = 0;
  int64_t ops_per_second = 0;
  std::vector<CheckResult> checks;
  std::vector<SlowlogEntry> slowlog;  // newest first

  bool failed() const { return Any(CheckLevel::kFail); }  // any FAIL
  bool warned() const { return Any(CheckLevel::kWarn); }  // any WARN

 private:
  bool Any(CheckLevel level) const {
    for (const CheckResult& c : checks) {
      if (c.level == level) return true;
    }
    return false;
  }
};

// Reads everything in one round trip and evaluates the checks. Unavailable when Redis does
// not answer; the report is only returned whole.
[[nodiscard]] Result<RedisReport> CheckRedis(Connection& connection, int slowlog_entries = 10);

// I/O-free pieces, for tests.
// "key:value" lines of INFO; sections and comments skipped.
std::map<std::string, std::string, std::less<>> ParseInfo(std::string_view info);
// Fills report.checks from the fields already in `report`.
void EvaluateChecks(RedisReport& report);
// True when `version` ("7.0.15") is at least major.minor.
bool VersionAtLeast(std::string_view version, int major, int minor);

}  // namespace bananas::redis
