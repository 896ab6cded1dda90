// Wiring of metrics, logs and the Redis self-check for the long-running services (run.cc)
// and `bananas doctor` (admin.cc). Logic lives in obs/ and redis/self_check.h; this file
// only connects them to a Config.
//
// Thread safety: StartSelfCheck may leave one detached thread that retries until Redis
// answers; FollowRedisClock's follower has its own thread; everything else runs on main().
#pragma once

#include <memory>
#include <string>

#include "app/config.h"
#include "obs/metrics.h"
#include "redis/clock_sync.h"
#include "redis/self_check.h"

namespace bananas::app {

// LOG_LEVEL and LOG_FORMAT applied to the process's logger (obs/log.h); trace is debug.
void ConfigureLogs(const Config& config);

// The process's registry, with the queue-depth collector (queue/depth_collector.h) on
// REDIS_URL. One per process: dev's three services share it.
std::shared_ptr<obs::Metrics> MakeMetrics(const Config& config);

// Runs the self-check once and logs every check (OK at info, WARN at warn, FAIL at error,
// each with its fix). Returns FailedPrecondition (naming the failed checks) when one FAILs:
// the service must not start. When Redis does not answer, logs that and keeps checking on a
// detached thread every few seconds until it does; a FAIL found then ends the process
// (exit 1) after logging it, since no script of ours can run on that Redis anyway. Then
// checks the key layout (Broker::CheckLayout): Redis holding another layout's data is a
// FailedPrecondition naming `bananas migrate`, found at start or later the same way.
[[nodiscard]] Status StartSelfCheck(const Config& config);

// Makes this process's clock follow Redis' (base/clock.h; DECISIONS.md "Clocks follow
// Redis"): measures the offset to Redis TIME now and sets it, logging it (at warn, saying it
// was corrected, when over 1 s), then keeps measuring every 30 s on its own connection. When
// Redis does not answer yet the offset stays 0, and the follower measures as soon as it does.
// Call before the services start, and keep the result for the life of the process (null only
// if the follower could not start, which is logged).
std::unique_ptr<redis::ClockFollower> FollowRedisClock(const Config& config);

// `bananas doctor`: the report as text (checks with fixes, INFO figures, SLOWLOG).
std::string DescribeReport(const redis::RedisReport& report);

}  // namespace bananas::app
