// The admin CLI of SPEC §1: `bananas enqueue`, `job`, `queues`, `dlq list|retry|purge`,
// `workers`, `pause`, `resume`, `schedules list|add|rm|pause|resume|trigger`, `doctor`
// (the Redis self-check, app/observability.h), and `migrate` (key layout 1 -> 2,
// queue/migrate.h). Each speaks to Redis directly through the
// public Client and Inspector (schedules: through queue::ScheduleStore), prints a human view
// by default and, with --json, the same JSON the HTTP API answers (src/api/job_json.h,
// schedule_json.h), for scripts.
//
// Settings come from the same table as the services (config.h): REDIS_URL and
// BANANAS_PREFIX (plus MAX_RETRIES for enqueue), from the environment or the flags
// --redis-url, --prefix, --max-retries.
//
// Exit codes: 0 done; 1 failed (Redis unreachable, no such job); 2 usage or invalid value
// (run.h's kExitUsage).
//
// Thread safety: none; main() only.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "app/config.h"

namespace bananas::app {

class AdminCommands {
 public:
  // Adds the subcommands to `app`. Flag values for config variables land in `overrides`;
  // both must outlive the parse.
  void Add(CLI::App& app, Overrides& overrides);
  // The admin subcommand the command line chose ("dlq list"), or nullopt.
  std::optional<std::string> Chosen() const;
  // Runs the chosen subcommand; returns the exit code.
  int Run(const Config& config);

 private:
  CLI::App* enqueue_ = nullptr;
  CLI::App* job_ = nullptr;
  CLI::App* queues_ = nullptr;
  CLI::App* dlq_ = nullptr;
  CLI::App* dlq_list_ = nullptr;
  CLI::App* dlq_retry_ = nullptr;
  CLI::App* dlq_purge_ = nullptr;
  CLI::App* workers_ = nullptr;
  CLI::App* pause_ = nullptr;
  CLI::App* resume_ = nullptr;
  CLI::App* doctor_ = nullptr;
  CLI::App* migrate_ = nullptr;
  CLI::App* schedules_ = nullptr;
  CLI::App* schedules_list_ = nullptr;
  CLI::App* schedules_add_ = nullptr;
  CLI::App* schedules_rm_ = nullptr;
  CLI::App* schedules_pause_ = nullptr;
  CLI::App* schedules_resume_ = nullptr;
  CLI::App* schedules_trigger_ = nullptr;

  bool json_ = false;
  // enqueue
  std::string name_;
  std::string payload_;
  std::string payload_file_;
  std::string queue_ = "default";
  std::string priority_ = "normal";
  std::string timeout_;
  std::string delay_;
  std::string run_at_;
  std::string unique_key_;
  std::string unique_ttl_;
  std::string description_;
  std::string wait_;
  // job
  std::string job_id_;
  // dlq
  std::string dlq_queue_;
  int64_t limit_ = 20;
  int64_t offset_ = 0;
  std::vector<std::string> ids_;
  bool all_ = false;
  // pause, resume
  std::string pause_queue_;
  // schedules
  std::string schedule_id_;
  std::string schedule_cron_;
  std::string schedule_timezone_ = "UTC";
  std::string schedule_missed_ = "once";
  bool schedule_disabled_ = false;
  bool schedule_replace_ = false;
  // migrate
  bool force_ = false;

  int RunSchedules(const Config& config, const std::string& command);
  int RunMigrate(const Config& config, const std::string& command);
};

}  // namespace bananas::app
