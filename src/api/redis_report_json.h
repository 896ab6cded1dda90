// The Redis self-check report (redis/self_check.h) as JSON: the body of GET /api/v1/redis
// and the output of `bananas doctor --json`, so both answer the same document.
//
// Thread safety: a pure function.
#pragma once

#include <boost/json/object.hpp>

#include "redis/self_check.h"

namespace bananas::api {

// {"endpoint", "ok", "checks": [{"name","status","message","fix"}], "info": {version,
//  mode, uptime_seconds, used_memory_bytes, maxmemory_bytes, maxmemory_policy, aof_enabled,
//  rdb_save, connected_clients, ops_per_second}, "slowlog": [{"id","time","duration_us",
//  "command","client"}]}. "ok" is false when any check FAILs.
boost::json::object RedisReportToJson(const redis::RedisReport& report);

}  // namespace bananas::api
