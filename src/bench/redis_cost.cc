#include "bench/redis_cost.h"

#include <cstdlib>
#include <sstream>

#include "redis/connection.h"

namespace bananas::bench {
namespace {

// The number after `key=` in a commandstats line ("calls=12,usec=34,..."), or 0.
double FieldOf(const std::string& line, const std::string& key) {
  size_t pos = line.find(key + "=");
  if (pos == std::string::npos) return 0;
  return std::strtod(line.c_str() + pos + key.size() + 1, nullptr);
}

}  // namespace

void ParseInfo(const std::string& text, RedisCounters& into) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("cmdstat_", 0) == 0) {
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(8, colon - 8);
      if (name == "info") continue;  // our own reads
      into.calls[name] = static_cast<int64_t>(FieldOf(line, "calls"));
      if (name == "evalsha" || name == "eval") into.script_us += FieldOf(line, "usec");
    } else if (line.rfind("used_cpu_user:", 0) == 0) {
      into.cpu_us += std::strtod(line.c_str() + 14, nullptr) * 1e6;
    } else if (line.rfind("used_cpu_sys:", 0) == 0) {
      into.cpu_us += std::strtod(line.c_str() + 13, nullptr) * 1e6;
    }
  }
}

Result<RedisCounters> ReadRedisCounters(redis::Connection& connection) {
  redis::Pipeline pipeline;
  pipeline.Add(redis::Command("INFO").Arg("commandstats"));
  pipeline.Add(redis::Command("INFO").Arg("cpu"));
  auto replies = connection.Run(pipeline);
  if (!replies) return replies.status();
  RedisCounters counters;
  for (const redis::Reply& reply : *replies) {
    if (!reply.is_string()) {
      return Status::Internal("bench.ReadRedisCounters: INFO replied " + reply.Describe());
    }
    ParseInfo(reply.str, counters);
  }
  return counters;
}

RedisCost CostPerJob(const RedisCounters& before, const RedisCounters& after, int64_t jobs) {
  RedisCost cost;
  cost.jobs = jobs;
  if (jobs <= 0) return cost;
  const auto n = static_cast<double>(jobs);
  cost.cpu_us_per_job = (after.cpu_us - before.cpu_us) / n;
  cost.script_us_per_job = (after.script_us - before.script_us) / n;
  int64_t total = 0;
  for (const auto& [name, calls] : after.calls) {
    auto it = before.calls.find(name);
    int64_t delta = calls - (it == before.calls.end() ? 0 : it->second);
    if (delta <= 0) continue;
    total += delta;
    cost.calls_per_job_by_command[name] = static_cast<double>(delta) / n;
  }
  cost.calls_per_job = static_cast<double>(total) / n;
  return cost;
}

}  // namespace bananas::bench
