// The long-running subcommands: wiring only. Each builds its services from a Config, starts
// them, prints one line per part (where it listens, what it serves), waits for SIGTERM or
// SIGINT, and shuts down in order. Returns the process exit code; on a clean shutdown it
// does not return (ExitNow(0), see signals.h).
//
// REQUIRES: BlockShutdownSignals() ran first, on the main thread, which calls these.
#pragma once

#include <string>

#include "app/config.h"
#include "bananas/status.h"

namespace bananas::app {

// Exit codes of the bananas binary.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // could not start, lost Redis, second signal
inline constexpr int kExitUsage = 2;    // a bad flag or value: the message names the variable

// Prints "bananas <command>: <message>" on stderr; kExitUsage for InvalidArgument, else
// kExitFailure.
int ReportFailure(std::string_view command, const Status& status);

struct DevOptions {
  // Where dev's own redis-server keeps its AOF and log (only when REDIS_URL is unset).
  std::string data_dir = "./.bananas/dev-redis";
};

// The HTTP API server (src/api); prints "API: http://<bind>:<port> ..." with the bound port.
int RunApi(const Config& config);
int RunWorker(const Config& config);
int RunScheduler(const Config& config);
// API, worker and scheduler in one process, with its own redis-server when config.redis_url
// is empty.
int RunDev(const Config& config, const DevOptions& dev);

}  // namespace bananas::app
