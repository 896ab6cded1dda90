// What a workload costs the Redis server, from the server's own counters: INFO commandstats
// (calls per command, the commands Lua scripts run included) and INFO cpu
// (used_cpu_user + used_cpu_sys). Read before and after a workload; the difference divided
// by the jobs it handled is the per-job cost SPEC §11 budgets (~12 µs of Redis CPU per job).
//
// Note: the counters are server-wide. On a Redis that other clients use, the figures include
// their work; `bananas bench` reports them as measured on its own redis-server.
// The INFO calls that read the counters are left out of the call counts.
//
// Thread safety: plain values and pure functions; ReadRedisCounters uses the connection it
// is given.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "bananas/status.h"

namespace bananas::redis {
class Connection;
}

namespace bananas::bench {

struct RedisCounters {
  double cpu_us = 0;     // used_cpu_user + used_cpu_sys, microseconds
  double script_us = 0;  // usec of evalsha + eval (script run time, its commands included)
  // Calls per command name in lower case ("evalsha", "hset"), INFO itself left out.
  std::map<std::string, int64_t> calls;
};

struct RedisCost {
  int64_t jobs = 0;
  double cpu_us_per_job = 0;
  double script_us_per_job = 0;
  double calls_per_job = 0;  // every command, those run inside scripts included
  std::map<std::string, double> calls_per_job_by_command;  // commands with a non-zero delta
};

// INFO commandstats + INFO cpu in one pipelined round trip. Unavailable when Redis cannot be
// reached; Internal when a reply is not INFO text.
[[nodiscard]] Result<RedisCounters> ReadRedisCounters(redis::Connection& connection);

// Parses INFO text (either section, or both); fields it does not know are skipped.
void ParseInfo(const std::string& text, RedisCounters& into);

// (after - before) / jobs; all zero when jobs <= 0.
RedisCost CostPerJob(const RedisCounters& before, const RedisCounters& after, int64_t jobs);

}  // namespace bananas::bench
