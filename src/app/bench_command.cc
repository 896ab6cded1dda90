#include "app/bench_command.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "app/own_redis.h"
#include "app/run.h"
#include "app/signals.h"
#include "base/duration.h"
#include "bench/report.h"
#include "bench/scenarios.h"

namespace bananas::app {
namespace {

constexpr std::string_view kCommand = "bench";
const std::vector<std::string> kScenarios = {"enqueue", "throughput", "pickup", "lateness"};

bool Wants(const std::vector<std::string>& chosen, std::string_view scenario) {
  return std::find(chosen.begin(), chosen.end(), scenario) != chosen.end();
}

// Progress on stderr, so that --json output on stdout stays one object.
void Note(const std::string& line) {
  std::fprintf(stderr, "bananas bench: %s\n", line.c_str());
  std::fflush(stderr);
}

Status Positive(int64_t value, std::string_view flag) {
  if (value > 0) return Status::Ok();
  return Status::InvalidArgument(std::string(flag) + ": must be > 0, got " + std::to_string(value));
}

}  // namespace

void BenchCommand::Add(CLI::App& app, Overrides& overrides) {
  command_ = app.add_subcommand(
      "bench",
      "Load generator: enqueue rates, throughput of a backlog, pickup latency, delayed-job "
      "lateness, and an exact-delivery check. Uses REDIS_URL, or starts its own redis-server "
      "(no persistence) when it is unset.");
  for (const char* name : {"REDIS_URL", "BANANAS_PREFIX"}) {
    const Variable* variable = FindVariable(name);
    std::string key(variable->name);
    command_
        ->add_option_function<std::string>(
            "--" + std::string(variable->flag),
            [&overrides, key](const std::string& value) { overrides[key] = value; },
            "[" + key + "] " + std::string(variable->help))
        ->type_name("VALUE");
  }
  command_->add_option("--scenarios", scenarios_, "which to run, comma-separated")
      ->delimiter(',')
      ->check(CLI::IsMember(kScenarios))
      ->capture_default_str();
  command_->add_option("--jobs", jobs_, "jobs in the bulk enqueue and the throughput backlog")
      ->capture_default_str();
  command_->add_option("--single-jobs", single_jobs_, "jobs submitted one at a time (enqueue)")
      ->capture_default_str();
  command_->add_option("--bulk-chunk", bulk_chunk_, "jobs per SubmitBatch call / HTTP batch")
      ->capture_default_str();
  command_->add_option("--concurrency", concurrency_, "worker concurrency (every scenario)")
      ->capture_default_str();
  command_->add_option("--fetch-batch", fetch_batch_, "most jobs leased per dequeue call")
      ->capture_default_str();
  command_->add_option("--prefetch", prefetch_,
                       "jobs leased beyond the concurrency while jobs are short (0: off)")
      ->capture_default_str()
      ->check(CLI::Range(0, 100'000));
  command_->add_option("--rate", rate_, "pickup: jobs/s, open loop")->capture_default_str();
  command_->add_option("--duration", duration_, "pickup: how long (e.g. 10s)")
      ->capture_default_str();
  command_->add_option("--delayed", delayed_, "lateness: delayed jobs")->capture_default_str();
  command_->add_option("--spread", spread_, "lateness: run_at spread over this long")
      ->capture_default_str();
  command_->add_option("--api", api_url_,
                       "also enqueue over HTTP to this API (http://host:port), keep-alive; "
                       "jobs land in its queue bench-http");
  command_->add_option("--http-connections", http_connections_, "HTTP: concurrent connections")
      ->capture_default_str();
  command_->add_option("--timeout", timeout_, "longest wait for a scenario's jobs")
      ->capture_default_str();
  command_->add_flag("--json", json_, "print one JSON object instead of the table");
}

int BenchCommand::Run(const Config& config) {
  bench::BenchOptions options;
  const std::vector<std::pair<int64_t, std::string_view>> counts = {
      {jobs_, "--jobs"},
      {single_jobs_, "--single-jobs"},
      {bulk_chunk_, "--bulk-chunk"},
      {concurrency_, "--concurrency"},
      {fetch_batch_, "--fetch-batch"},
      {rate_, "--rate"},
      {delayed_, "--delayed"},
      {http_connections_, "--http-connections"}};
  for (const auto& [value, flag] : counts) {
    Status positive = Positive(value, flag);
    if (!positive.ok()) return ReportFailure(kCommand, positive);
  }
  auto duration = ParseDuration(duration_, "--duration");
  auto spread = ParseDuration(spread_, "--spread");
  auto timeout = ParseDuration(timeout_, "--timeout");
  for (const auto* parsed : {&duration, &spread, &timeout}) {
    if (!*parsed) return ReportFailure(kCommand, parsed->status());
  }
  options.jobs = jobs_;
  options.single_jobs = single_jobs_;
  options.bulk_chunk = bulk_chunk_;
  options.concurrency = concurrency_;
  options.fetch_batch = fetch_batch_;
  options.prefetch = prefetch_;
  options.rate = rate_;
  options.duration = *duration;
  options.delayed_jobs = delayed_;
  options.spread = *spread;
  options.api_url = api_url_;
  options.api_token = config.api_token;
  options.http_connections = http_connections_;
  options.timeout = *timeout;

  bench::BenchReport report;
  report.version = BANANAS_VERSION;
  // Own redis first: it is the only child, forked while this is still the only thread.
  std::unique_ptr<OwnRedis> own_redis;
  std::string data_dir;
  if (config.redis_url.empty()) {
    char pattern[] = "/tmp/bananas-bench-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      return ReportFailure(kCommand, Status::Internal("cannot create a temporary directory"));
    }
    data_dir = pattern;
    auto started = OwnRedis::Start(data_dir, OwnRedis::Persistence::kNone);
    if (!started) return ReportFailure(kCommand, started.status());
    own_redis = std::move(*started);
    options.redis_url = own_redis->url();
    options.prefix = config.prefix;
    report.redis = "own redis-server (no persistence) at " + own_redis->url();
  } else {
    options.redis_url = config.redis_url;
    options.prefix = config.prefix + "-bench-" + std::to_string(::getpid());
    report.redis = config.RedactedRedisUrl() + ", keys under " + options.prefix + ":";
  }
  OwnRedis* redis_child = own_redis.get();
  ExitOnSecondSignal([redis_child] {
    if (redis_child != nullptr) redis_child->Abandon();
  });

  Status failure;
  auto run = [&](std::string_view what, auto&& step) {
    if (!failure.ok()) return;
    Note(std::string(what) + "...");
    failure = step();
  };
  if (Wants(scenarios_, "enqueue")) {
    for (bool bulk : {false, true}) {
      run(bulk ? "enqueue bulk" : "enqueue single", [&]() -> Status {
        auto r = bench::RunEnqueue(options, bulk);
        if (!r) return r.status();
        report.enqueue.push_back(*r);
        return Status::Ok();
      });
    }
    if (!options.api_url.empty()) {
      for (bool bulk : {false, true}) {
        run(bulk ? "enqueue over HTTP, bulk" : "enqueue over HTTP, single", [&]() -> Status {
          auto r = bench::RunHttpEnqueue(options, bulk);
          if (!r) return r.status();
          report.enqueue.push_back(*r);
          return Status::Ok();
        });
      }
    }
  }
  if (Wants(scenarios_, "throughput")) {
    run("throughput", [&]() -> Status {
      auto r = bench::RunThroughput(options);
      if (!r) return r.status();
      report.throughput = *r;
      return Status::Ok();
    });
  }
  if (Wants(scenarios_, "pickup")) {
    run("pickup", [&]() -> Status {
      auto r = bench::RunPickup(options);
      if (!r) return r.status();
      report.pickup = *r;
      return Status::Ok();
    });
  }
  if (Wants(scenarios_, "lateness")) {
    run("lateness", [&]() -> Status {
      auto r = bench::RunLateness(options);
      if (!r) return r.status();
      report.lateness = *r;
      return Status::Ok();
    });
  }
  if (own_redis) {
    own_redis->Stop();
    std::error_code ignored;
    std::filesystem::remove_all(data_dir, ignored);
  } else {
    Status deleted = bench::DeleteKeys(options);
    if (!deleted.ok()) Note("could not delete the bench keys: " + deleted.message());
  }
  if (!failure.ok()) return ReportFailure(kCommand, failure);

  std::string text = json_ ? bench::ReportJson(report) + "\n" : bench::ReportTable(report);
  std::fwrite(text.data(), 1, text.size(), stdout);
  ExitNow(report.ok() ? kExitOk : kExitFailure);
}

}  // namespace bananas::app
