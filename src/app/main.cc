// bananas: the one binary of SPEC §1. main() parses the command line, loads the Config and
// hands over to one Run* function of run.h; it holds no logic of its own.
//
// Adding a subcommand: add_subcommand() here, its flags through AddConfigFlags() for its
// Service, and a Run* function in run.h (an admin command: admin.h). Adding a setting: see
// config.h.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "app/admin.h"
#include "app/bench_command.h"
#include "app/config.h"
#include "app/flags.h"
#include "app/run.h"
#include "app/signals.h"

namespace bananas::app {
namespace {

int Main(int argc, char** argv) {
  // Before anything can start a thread: see signals.h.
  BlockShutdownSignals();
  // The pprof endpoints name PCs with libdw, which asks a debuginfod server for the debug
  // files of system libraries when DEBUGINFOD_URLS is set (Debian can set it for login
  // shells). A profile endpoint must not wait on the network, or the client gives up on the
  // profile: symbols come from this machine only. libdw reads the variable per query.
  unsetenv("DEBUGINFOD_URLS");

  CLI::App app("Bananas: a distributed task queue on Redis.", "bananas");
  app.set_version_flag("--version", std::string("bananas ") + BANANAS_VERSION);
  app.require_subcommand(1);

  Overrides overrides;
  DevOptions dev_options;
  CLI::App* api = app.add_subcommand("api", "Serve the HTTP API: jobs, queues, DLQ, workers; /healthz, /readyz, /metrics.");
  AddConfigFlags(*api, Service::kApi, overrides);
  CLI::App* worker = app.add_subcommand("worker", "Run handlers on jobs from Redis.");
  AddConfigFlags(*worker, Service::kWorker, overrides);
  CLI::App* scheduler = app.add_subcommand(
      "scheduler", "Promote delayed and retrying jobs; recover expired leases; fire cron schedules.");
  AddConfigFlags(*scheduler, Service::kScheduler, overrides);
  std::string config_file;
  scheduler->add_option("--config", config_file, "TOML file of cron schedules (docs/OPERATIONS.md)")
      ->type_name("FILE");
  CLI::App* dev = app.add_subcommand(
      "dev",
      "API + worker + scheduler in one process; starts its own redis-server when REDIS_URL is "
      "unset.");
  AddConfigFlags(*dev, Service::kDev, overrides);
  dev->add_option("--config", config_file, "TOML file of cron schedules (docs/OPERATIONS.md)")
      ->type_name("FILE");
  dev->add_option("--data-dir", dev_options.data_dir,
                  "data directory of the own redis-server (REDIS_URL unset only)")
      ->capture_default_str()
      ->type_name("DIR");

  AdminCommands admin;
  admin.Add(app, overrides);
  BenchCommand bench;
  bench.Add(app, overrides);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version exit 0; every usage error is kExitUsage, whatever CLI11's own code.
    return app.exit(error) == 0 ? kExitOk : kExitUsage;
  }

  if (std::optional<std::string> chosen = admin.Chosen()) {
    // The admin commands read REDIS_URL and BANANAS_PREFIX as the API server does.
    Result<Config> config = LoadConfig(Service::kApi, ProcessEnv(), overrides);
    if (!config) return ReportFailure(*chosen, config.status());
    return admin.Run(*config);
  }

  if (bench.chosen()) {
    // kDev: REDIS_URL unset stays unset, and bench then starts its own redis-server.
    Result<Config> config = LoadConfig(Service::kDev, ProcessEnv(), overrides);
    if (!config) return ReportFailure("bench", config.status());
    return bench.Run(*config);
  }

  Service service = Service::kWorker;
  std::string_view command = "worker";
  if (api->parsed()) {
    service = Service::kApi;
    command = "api";
  } else if (scheduler->parsed()) {
    service = Service::kScheduler;
    command = "scheduler";
  } else if (dev->parsed()) {
    service = Service::kDev;
    command = "dev";
  }
  Result<Config> config = LoadConfig(service, ProcessEnv(), overrides);
  if (!config) return ReportFailure(command, config.status());
  config->config_file = config_file;

  switch (service) {
    case Service::kWorker:
      return RunWorker(*config);
    case Service::kScheduler:
      return RunScheduler(*config);
    case Service::kDev:
      return RunDev(*config, dev_options);
    case Service::kApi:
      return RunApi(*config);
  }
  return kExitUsage;
}

}  // namespace
}  // namespace bananas::app

int main(int argc, char** argv) { return bananas::app::Main(argc, argv); }
