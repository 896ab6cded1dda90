// `bananas bench` (SPEC §1): the load generator of src/bench, wired to the command line.
// Runs the scenarios chosen by --scenarios against REDIS_URL or, when REDIS_URL is unset
// (like `bananas dev`), against its own redis-server without persistence, started on a free
// port and stopped at the end. Prints a table, or one JSON object with --json.
//
// On a Redis given by REDIS_URL, keys go under "<BANANAS_PREFIX>-bench-<pid>" and are all
// deleted at the end, so a run never touches real queues; the Redis CPU figures are then
// server-wide (other clients' work included).
//
// Exit codes: 0 every check passed; 1 the exact-delivery check failed (a job lost, run twice,
// or started before its run_at) or a scenario could not run; 2 usage (run.h's kExitUsage).
//
// Thread safety: none; main() only (OwnRedis must start on the main thread).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "app/config.h"

namespace bananas::app {

class BenchCommand {
 public:
  // Adds the subcommand to `app`. --redis-url and --prefix land in `overrides`; both must
  // outlive the parse.
  void Add(CLI::App& app, Overrides& overrides);
  bool chosen() const { return command_ != nullptr && command_->parsed(); }
  // Runs it; returns the exit code. `config` from LoadConfig(Service::kDev, ...): an empty
  // redis_url means "start an own redis-server".
  int Run(const Config& config);

 private:
  CLI::App* command_ = nullptr;
  bool json_ = false;
  std::vector<std::string> scenarios_ = {"enqueue", "throughput", "pickup", "lateness"};
  int64_t jobs_ = 20'000;
  int64_t single_jobs_ = 5'000;
  int bulk_chunk_ = 1'000;
  int concurrency_ = 32;
  int fetch_batch_ = 32;
  int prefetch_ = 32;
  int64_t rate_ = 200;
  std::string duration_ = "5s";
  int64_t delayed_ = 1'000;
  std::string spread_ = "5s";
  std::string api_url_;
  int http_connections_ = 16;
  std::string timeout_ = "120s";
};

}  // namespace bananas::app
