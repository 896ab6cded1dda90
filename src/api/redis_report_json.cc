#include "api/redis_report_json.h"

#include <boost/json/array.hpp>

#include "api/time_format.h"

namespace bananas::api {

namespace json = boost::json;

json::object RedisReportToJson(const redis::RedisReport& report) {
  json::array checks;
  for (const redis::CheckResult& c : report.checks) {
    json::object check;
    check["name"] = c.name;
    check["status"] = std::string(redis::CheckLevelName(c.level));
    check["message"] = c.message;
    check["fix"] = c.fix;
    checks.push_back(std::move(check));
  }
  json::object info;
  info["version"] = report.version;
  info["mode"] = report.mode;
  info["uptime_seconds"] = report.uptime_seconds;
  info["used_memory_bytes"] = report.used_memory_bytes;
  info["maxmemory_bytes"] = report.maxmemory_bytes;
  info["maxmemory_policy"] = report.maxmemory_policy;
  info["aof_enabled"] = report.aof_enabled;
  info["rdb_save"] = report.rdb_save;
  info["connected_clients"] = report.connected_clients;
  info["ops_per_second"] = report.ops_per_second;
  json::array slowlog;
  for (const redis::SlowlogEntry& e : report.slowlog) {
    json::object entry;
    entry["id"] = e.id;
    entry["time"] = FormatRfc3339(e.unix_seconds * 1000);
    entry["duration_us"] = e.duration_us;
    entry["command"] = e.command;
    entry["client"] = e.client;
    slowlog.push_back(std::move(entry));
  }
  json::object out;
  out["endpoint"] = report.endpoint;
  out["ok"] = !report.failed();
  out["checks"] = std::move(checks);
  out["info"] = std::move(info);
  out["slowlog"] = std::move(slowlog);
  return out;
}

}  // namespace bananas::api
