#include "app/run.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "api/server.h"
#include "app/api_service.h"
#include "app/observability.h"
#include "app/config_file.h"
#include "app/own_redis.h"
#include "app/signals.h"
#include "bananas/worker.h"
#include "obs/admin_server.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "base/duration.h"
#include "scheduler/scheduler.h"

namespace bananas::app {
namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ",";
    out += item;
  }
  return out;
}

std::string JoinPriorities(const std::vector<Priority>& priorities) {
  std::vector<std::string> names;
  for (Priority priority : priorities) names.emplace_back(PriorityName(priority));
  return Join(names);
}

// One line on stdout, flushed at once: tests and scripts read these lines as they come.
void Say(const std::string& line) {
  std::fprintf(stdout, "%s\n", line.c_str());
  std::fflush(stdout);
}

WorkerOptions ToWorkerOptions(const Config& config, std::shared_ptr<obs::Metrics> metrics) {
  WorkerOptions options;
  options.metrics = std::move(metrics);
  options.redis_url = config.redis_url;
  options.prefix = config.prefix;
  options.concurrency = config.worker_concurrency;
  options.prefetch = config.worker_prefetch;
  options.queues = config.worker_queues;
  options.priorities = config.worker_priorities;
  options.job_types = config.worker_job_types;
  options.job_timeout = config.job_timeout;
  options.lease_timeout = config.lease_timeout;
  options.shutdown_grace = config.shutdown_grace;
  options.result_ttl_success = config.result_ttl_success;
  options.result_ttl_failure = config.result_ttl_failure;
  options.max_result_bytes = config.max_result_bytes;
  return options;
}

// The scheduler's options, with the --config file's schedules. InvalidArgument naming the
// file and the entry for a bad file: a service must not start with half its schedules.
Result<scheduler::SchedulerOptions> ToSchedulerOptions(const Config& config,
                                                       std::shared_ptr<obs::Metrics> metrics) {
  scheduler::SchedulerOptions options;
  options.metrics = std::move(metrics);
  if (!config.config_file.empty()) {
    auto file = LoadConfigFile(config.config_file, config.max_retries);
    if (!file) return file.status();
    options.schedules = std::move(file->schedules);
  }
  options.redis_url = config.redis_url;
  options.prefix = config.prefix;
  options.lease_timeout = config.lease_timeout;
  options.queue_prune_after = config.queue_prune_after;
  options.dlq_max = config.dlq_max;
  options.dlq_ttl = config.dlq_ttl;
  // SPEC §3: an expired lease is back in its queue within about two lease periods. The
  // sweep runs at least every half lease (and at most every 5 s: it is one cheap
  // ZRANGEBYSCORE per queue when nothing expired).
  options.recovery_interval =
      std::clamp<std::chrono::milliseconds>(config.lease_timeout / 2,
                                            std::chrono::milliseconds(50), std::chrono::seconds(5));
  return options;
}

// Create, built-ins, plug-ins, then a check that every WORKER_JOB_TYPES entry has a handler.
// Errors a user fixes in a variable are InvalidArgument naming it.
Result<std::unique_ptr<Worker>> BuildWorker(const Config& config,
                                            std::shared_ptr<obs::Metrics> metrics) {
  Result<std::unique_ptr<Worker>> worker = Worker::Create(ToWorkerOptions(config, metrics));
  if (!worker) return worker.status();
  if (config.worker_builtins) BANANAS_RETURN_IF_ERROR((*worker)->RegisterBuiltins());
  for (const std::string& plugin : config.worker_plugins) {
    Status loaded = (*worker)->LoadPlugin(plugin);
    if (!loaded.ok()) return Status::InvalidArgument("WORKER_PLUGINS: " + loaded.message());
  }
  std::vector<std::string> names = (*worker)->handler_names();
  if (names.empty()) {
    return Status::InvalidArgument(
        "no handlers: WORKER_BUILTINS is false and WORKER_PLUGINS loaded none");
  }
  for (const std::string& type : config.worker_job_types) {
    if (std::find(names.begin(), names.end(), type) == names.end()) {
      return Status::InvalidArgument("WORKER_JOB_TYPES: no handler is registered for \"" + type +
                                     "\" (registered: " + Join(names) + ")");
    }
  }
  return worker;
}

std::string DescribeWorker(const Config& config, Worker& worker) {
  std::vector<std::string> names = worker.handler_names();
  std::sort(names.begin(), names.end());
  std::string line = "worker: " + worker.id() + ", " + std::to_string(config.worker_concurrency) +
                     " at once, queues " + Join(config.worker_queues) + ", priorities " +
                     JoinPriorities(config.worker_priorities) + ", handlers " + Join(names);
  if (!config.worker_job_types.empty()) line += ", job types " + Join(config.worker_job_types);
  return line;
}

std::string DescribeScheduler(const Config& config, const scheduler::SchedulerOptions& options) {
  std::string line = "scheduler: delayed-job promotion, lease recovery and cron, lease timeout " +
                     FormatDuration(config.lease_timeout);
  if (!config.config_file.empty()) {
    line += ", " + std::to_string(options.schedules.size()) + " schedule(s) from " +
            config.config_file;
  }
  return line;
}

// The admin listener: /debug/pprof/*, /metrics, /healthz on PPROF_BIND:PPROF_PORT. A port
// that is taken is reported loudly but does not stop the service: jobs matter more than
// profiles, and a second worker on one host must still run (give it its own PPROF_PORT).
std::unique_ptr<obs::AdminServer> StartAdmin(const Config& config,
                                             std::shared_ptr<obs::Metrics> metrics) {
  obs::AdminServerOptions options;
  options.log = [](std::string_view message) {
    obs::Log(obs::LogLevel::kWarn, "admin listener", {{"error", message}});
  };
  auto admin = std::make_unique<obs::AdminServer>(std::move(options));
  admin->SetMetricsSource([metrics] { return metrics->Render(); });
  Status started = admin->Start(config.pprof_bind, static_cast<uint16_t>(config.pprof_port));
  if (!started.ok()) {
    obs::Log(obs::LogLevel::kWarn, "pprof/metrics listener not started",
             {{"address", config.pprof_bind + ":" + std::to_string(config.pprof_port)},
              {"error", started.message()},
              {"fix", "set PPROF_PORT to a free port, or 0 for any"}});
    return nullptr;
  }
  return admin;
}

std::string DescribePprof(const Config& config, const obs::AdminServer* admin) {
  if (admin == nullptr) {
    return "pprof: not listening (" + config.pprof_bind + ":" + std::to_string(config.pprof_port) +
           " unavailable)";
  }
  return "pprof: http://" + config.pprof_bind + ":" + std::to_string(admin->port()) +
         "/debug/pprof/ (also /metrics, /healthz)";
}

std::string DescribeStats(const WorkerStats& stats) {
  return std::to_string(stats.succeeded) + " succeeded, " + std::to_string(stats.failed) +
         " failed, " + std::to_string(stats.handed_back) + " handed back";
}

// The info-level lifecycle line of a service start: where it listens, which Redis (masked).
void LogStarted(std::string_view service, const Config& config, const obs::AdminServer* admin,
                int api_port) {
  std::string pprof = admin == nullptr ? std::string("none")
                                       : config.pprof_bind + ":" + std::to_string(admin->port());
  std::string api = api_port > 0 ? "0.0.0.0:" + std::to_string(api_port) : std::string("none");
  obs::Log(obs::LogLevel::kInfo, "service started",
           {{"service", service},
            {"redis", config.RedactedRedisUrl()},
            {"prefix", config.prefix},
            {"admin_listen", pprof},
            {"api_listen", api},
            {"pid", static_cast<int64_t>(::getpid())}});
}

// `config` is null for a process that runs no jobs (the scheduler): no grace to announce.
void SayShutdown(std::string_view command, int signal, const Config* config) {
  std::string line = "bananas " + std::string(command) + ": " + SignalName(signal) + ", stopping";
  if (config != nullptr) {
    line += "; running jobs get SHUTDOWN_GRACE " + FormatDuration(config->shutdown_grace) +
            ", then go back to their queue";
  }
  Say(line + " (send it again to exit at once)");
  obs::Log(obs::LogLevel::kInfo, "shutdown requested",
           {{"service", command}, {"signal", SignalName(signal)}});
}

}  // namespace

int ReportFailure(std::string_view command, const Status& status) {
  std::fprintf(stderr, "bananas %.*s: %s\n", static_cast<int>(command.size()), command.data(),
               status.message().c_str());
  std::fflush(stderr);
  return status.IsInvalidArgument() ? kExitUsage : kExitFailure;
}

int RunApi(const Config& config) {
  constexpr std::string_view kCommand = "api";
  ConfigureLogs(config);
  // Before anything stamps a time: job times follow Redis' clock, not this host's.
  std::unique_ptr<redis::ClockFollower> clock = FollowRedisClock(config);
  Status checked = StartSelfCheck(config);
  if (!checked.ok()) return ReportFailure(kCommand, checked);
  std::shared_ptr<obs::Metrics> metrics = MakeMetrics(config);
  api::ApiOptions options = ToApiOptions(config);
  options.metrics = metrics;
  Result<std::unique_ptr<api::ApiServer>> server = api::ApiServer::Start(options);
  if (!server) return ReportFailure(kCommand, server.status());
  Say("redis: " + config.RedactedRedisUrl() + ", key prefix " + config.prefix);
  std::unique_ptr<obs::AdminServer> admin = StartAdmin(config, metrics);
  Say(DescribePprof(config, admin.get()));
  Say(DescribeApi(options, (*server)->port()));
  LogStarted(kCommand, config, admin.get(), (*server)->port());
  Say("bananas api: ready");

  int signal = WaitForSignal(/*include_children=*/false);
  SayShutdown(kCommand, signal, nullptr);
  ExitOnSecondSignal(nullptr);
  (*server)->Stop();
  obs::Log(obs::LogLevel::kInfo, "service stopped", {{"service", kCommand}});
  Say("bananas api: stopped");
  ExitNow(kExitOk);
}

int RunWorker(const Config& config) {
  constexpr std::string_view kCommand = "worker";
  ConfigureLogs(config);
  std::unique_ptr<redis::ClockFollower> clock = FollowRedisClock(config);
  std::shared_ptr<obs::Metrics> metrics = MakeMetrics(config);
  Result<std::unique_ptr<Worker>> worker = BuildWorker(config, metrics);
  if (!worker) return ReportFailure(kCommand, worker.status());
  Status checked = StartSelfCheck(config);
  if (!checked.ok()) return ReportFailure(kCommand, checked);
  Say("redis: " + config.RedactedRedisUrl() + ", key prefix " + config.prefix);
  std::unique_ptr<obs::AdminServer> admin = StartAdmin(config, metrics);
  Say(DescribePprof(config, admin.get()));
  Status started = (*worker)->Start();
  if (!started.ok()) return ReportFailure(kCommand, started);
  Say(DescribeWorker(config, **worker));
  LogStarted(kCommand, config, admin.get(), 0);
  Say("bananas worker: ready");

  int signal = WaitForSignal(/*include_children=*/false);
  SayShutdown(kCommand, signal, &config);
  ExitOnSecondSignal(nullptr);
  (*worker)->Stop();
  (*worker)->Wait();
  obs::Log(obs::LogLevel::kInfo, "service stopped",
           {{"service", kCommand}, {"stats", DescribeStats((*worker)->stats())}});
  Say("bananas worker: stopped (" + DescribeStats((*worker)->stats()) + ")");
  ExitNow(kExitOk);
}

int RunScheduler(const Config& config) {
  constexpr std::string_view kCommand = "scheduler";
  ConfigureLogs(config);
  std::unique_ptr<redis::ClockFollower> clock = FollowRedisClock(config);
  std::shared_ptr<obs::Metrics> metrics = MakeMetrics(config);
  Result<scheduler::SchedulerOptions> options = ToSchedulerOptions(config, metrics);
  if (!options) return ReportFailure(kCommand, options.status());
  Result<std::unique_ptr<scheduler::Scheduler>> scheduler =
      scheduler::Scheduler::Create(*options);
  if (!scheduler) return ReportFailure(kCommand, scheduler.status());
  Status checked = StartSelfCheck(config);
  if (!checked.ok()) return ReportFailure(kCommand, checked);
  Say("redis: " + config.RedactedRedisUrl() + ", key prefix " + config.prefix);
  std::unique_ptr<obs::AdminServer> admin = StartAdmin(config, metrics);
  Say(DescribePprof(config, admin.get()));
  Status started = (*scheduler)->Start();
  if (!started.ok()) return ReportFailure(kCommand, started);
  Say(DescribeScheduler(config, *options));
  LogStarted(kCommand, config, admin.get(), 0);
  Say("bananas scheduler: ready");

  int signal = WaitForSignal(/*include_children=*/false);
  SayShutdown(kCommand, signal, nullptr);
  ExitOnSecondSignal(nullptr);
  (*scheduler)->Stop();
  (*scheduler)->Wait();
  obs::Log(obs::LogLevel::kInfo, "service stopped", {{"service", kCommand}});
  Say("bananas scheduler: stopped");
  ExitNow(kExitOk);
}

int RunDev(const Config& base_config, const DevOptions& dev) {
  constexpr std::string_view kCommand = "dev";
  Config config = base_config;
  ConfigureLogs(config);

  // Own redis first: it is the only child, forked while this is still the only thread.
  std::unique_ptr<OwnRedis> own_redis;
  if (config.redis_url.empty()) {
    Result<std::unique_ptr<OwnRedis>> started = OwnRedis::Start(dev.data_dir);
    if (!started) return ReportFailure(kCommand, started.status());
    own_redis = std::move(*started);
    config.redis_url = own_redis->url();
    Say("redis: " + config.redis_url + " (own redis-server, data in " + own_redis->data_dir() +
        ")");
  } else {
    Say("redis: " + config.RedactedRedisUrl() + " (REDIS_URL)");
  }
  std::unique_ptr<redis::ClockFollower> clock = FollowRedisClock(config);

  Status checked = StartSelfCheck(config);
  if (!checked.ok()) return ReportFailure(kCommand, checked);
  std::shared_ptr<obs::Metrics> metrics = MakeMetrics(config);
  Result<std::unique_ptr<Worker>> worker = BuildWorker(config, metrics);
  if (!worker) return ReportFailure(kCommand, worker.status());
  Result<scheduler::SchedulerOptions> scheduler_options = ToSchedulerOptions(config, metrics);
  if (!scheduler_options) return ReportFailure(kCommand, scheduler_options.status());
  Result<std::unique_ptr<scheduler::Scheduler>> scheduler =
      scheduler::Scheduler::Create(*scheduler_options);
  if (!scheduler) return ReportFailure(kCommand, scheduler.status());

  // The API starts before the banner and stops first, so that no submission races the
  // worker's hand-back at shutdown.
  api::ApiOptions api_options = ToApiOptions(config);
  api_options.metrics = metrics;
  Result<std::unique_ptr<api::ApiServer>> api_server = api::ApiServer::Start(api_options);
  if (!api_server) return ReportFailure(kCommand, api_server.status());
  Say(DescribeApi(api_options, (*api_server)->port()));
  std::unique_ptr<obs::AdminServer> admin = StartAdmin(config, metrics);
  Say(DescribePprof(config, admin.get()));
  Status started = (*scheduler)->Start();
  if (!started.ok()) return ReportFailure(kCommand, started);
  started = (*worker)->Start();
  if (!started.ok()) return ReportFailure(kCommand, started);
  Say(DescribeWorker(config, **worker));
  Say(DescribeScheduler(config, *scheduler_options));
  LogStarted(kCommand, config, admin.get(), (*api_server)->port());
  Say("bananas dev: ready; Ctrl-C stops (a second Ctrl-C exits at once)");

  int exit_code = kExitOk;
  while (true) {
    int signal = WaitForSignal(/*include_children=*/own_redis != nullptr);
    if (signal != SIGCHLD) {
      SayShutdown(kCommand, signal, &config);
      break;
    }
    if (own_redis->Exited()) {
      std::fprintf(stderr, "bananas dev: redis-server exited unexpectedly; see %s\n",
                   own_redis->log_path().c_str());
      exit_code = kExitFailure;
      break;
    }
  }
  OwnRedis* redis_child = own_redis.get();
  ExitOnSecondSignal([redis_child] {
    if (redis_child != nullptr) redis_child->Abandon();
  });
  (*api_server)->Stop();
  // Worker first in spirit, both at once in fact: the worker's hand-back needs Redis, not
  // the scheduler, and Redis stops only after both are done.
  (*worker)->Stop();
  (*scheduler)->Stop();
  (*worker)->Wait();
  (*scheduler)->Wait();
  std::string stats = DescribeStats((*worker)->stats());
  if (own_redis) own_redis->Stop();
  obs::Log(obs::LogLevel::kInfo, "service stopped", {{"service", kCommand}, {"stats", stats}});
  Say("bananas dev: stopped (" + stats + ")");
  ExitNow(exit_code);
}

}  // namespace bananas::app
