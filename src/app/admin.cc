#include "app/admin.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <tuple>

#include "api/base64.h"
#include "api/job_json.h"
#include "api/redis_report_json.h"
#include "app/observability.h"
#include "redis/connection.h"
#include "redis/self_check.h"
#include "api/schedule_json.h"
#include "api/submit_request.h"
#include "api/time_format.h"
#include "app/run.h"
#include "bananas/client.h"
#include "bananas/inspector.h"
#include "base/clock.h"
#include "base/duration.h"
#include "queue/broker.h"
#include "queue/migrate.h"
#include "queue/schedule_store.h"
#include "redis/connection.h"
#include "redis/options.h"

namespace bananas::app {
namespace {

namespace json = boost::json;

// Adds --<flag> for one row of the settings table, stored under its variable name.
void AddVariableFlag(CLI::App& command, std::string_view name, Overrides& overrides) {
  const Variable* variable = FindVariable(name);
  if (variable == nullptr) return;
  std::string key(variable->name);
  command
      .add_option_function<std::string>(
          "--" + std::string(variable->flag),
          [&overrides, key](const std::string& value) { overrides[key] = value; },
          "[" + key + "] " + std::string(variable->help))
      ->type_name("VALUE");
}

void AddConnectionFlags(CLI::App& command, Overrides& overrides, bool* json) {
  AddVariableFlag(command, "REDIS_URL", overrides);
  AddVariableFlag(command, "BANANAS_PREFIX", overrides);
  command.add_flag("--json", *json, "print JSON (as the HTTP API answers) instead of text");
}

void Print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void PrintJson(const json::value& value) { Print(json::serialize(value)); }

std::string Time(int64_t unix_ms) { return unix_ms > 0 ? api::FormatRfc3339(unix_ms) : "-"; }

// Pads every column to its widest cell; the last column is not padded.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (size_t i = 0; i < rows[r].size(); ++i) {
      line += rows[r][i];
      if (i + 1 < rows[r].size()) line += std::string(widths[i] - rows[r][i].size() + 2, ' ');
    }
    out += line;
    if (r + 1 < rows.size()) out += '\n';
  }
  return out;
}

// One line per field; payload, result and error as the API shows them.
std::string DescribeJob(const Job& job) {
  json::object view = api::JobToJson(job);
  auto show = [&](const char* key) -> std::string {
    const json::value* v = view.if_contains(key);
    if (v == nullptr || v->is_null()) return "-";
    if (v->is_string()) return std::string(v->get_string());
    return json::serialize(*v);
  };
  std::vector<std::vector<std::string>> rows = {
      {"id", job.id},
      {"name", job.name},
      {"queue", job.queue},
      {"priority", std::string(PriorityName(job.priority))},
      {"state", std::string(JobStateName(job.state)) +
                    (job.cancel_requested ? " (cancellation requested)" : "")},
      {"attempts",
       std::to_string(job.attempts) + " of at most " + std::to_string(job.max_retries + 1)},
      {"created_at", Time(job.created_unix_ms)},
      {"run_at", Time(job.run_at_unix_ms)},
      {"started_at", Time(job.started_unix_ms)},
      {"finished_at", Time(job.finished_unix_ms)},
      {"payload",
       view.contains("payload_base64") ? "(base64) " + show("payload_base64") : show("payload")},
      {"result",
       view.contains("result_base64") ? "(base64) " + show("result_base64") : show("result")},
      {"error", show("error")},
  };
  if (!job.description.empty()) rows.push_back({"description", job.description});
  if (!job.unique_key.empty()) rows.push_back({"unique_key", job.unique_key});
  for (const JobError& e : job.errors) {
    rows.push_back({"error #" + std::to_string(e.attempt), Time(e.at_unix_ms) + " " + e.message});
  }
  return Table(rows);
}

Result<std::unique_ptr<Client>> ConnectClient(const Config& config) {
  ClientOptions options;
  options.redis_url = config.redis_url;
  options.prefix = config.prefix;
  options.result_ttl_failure = config.result_ttl_failure;
  return Client::Connect(options);
}

Result<std::unique_ptr<Inspector>> ConnectInspector(const Config& config) {
  InspectorOptions options;
  options.redis_url = config.redis_url;
  options.prefix = config.prefix;
  return Inspector::Connect(options);
}

// "paused", "disabled" or "active".
std::string ScheduleState(const cron::Schedule& s) {
  if (!s.spec.enabled) return "disabled";
  return s.paused ? "paused" : "active";
}

std::string DescribeSchedule(const cron::Schedule& s) {
  std::vector<std::vector<std::string>> rows = {
      {"id", s.spec.id},
      {"cron", s.spec.cron + " (" + s.spec.timezone + ")"},
      {"state", ScheduleState(s)},
      {"job", s.spec.job.name + " on queue " + s.spec.job.queue},
      {"next_run", s.next_run_unix_ms >= 0 ? Time(s.next_run_unix_ms) : "-"},
      {"last_run", Time(s.last_run_unix_ms)},
      {"run_count", std::to_string(s.run_count)},
      {"missed", std::string(cron::MissedPolicyName(s.spec.missed))},
  };
  if (!s.last_job_id.empty()) rows.push_back({"last_job", s.last_job_id});
  if (!s.last_error.empty()) rows.push_back({"last_error", s.last_error});
  return Table(rows);
}

Result<std::string> ReadPayloadFile(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("--payload-file: cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

void AdminCommands::Add(CLI::App& app, Overrides& overrides) {
  enqueue_ = app.add_subcommand("enqueue", "Submit one job.");
  enqueue_->add_option("name", name_, "job type (handler name), [A-Za-z0-9_.:-]{1,128}")
      ->required();
  auto* payload = enqueue_->add_option("--payload", payload_, "payload bytes (JSON by convention)");
  enqueue_->add_option("--payload-file", payload_file_, "read the payload from a file ('-': stdin)")
      ->excludes(payload);
  enqueue_->add_option("--queue", queue_, "routing key")->capture_default_str();
  enqueue_->add_option("--priority", priority_, "high, normal or low")->capture_default_str();
  enqueue_->add_option("--timeout", timeout_,
                       "run time limit (e.g. 30s); default the worker's JOB_TIMEOUT");
  auto* delay = enqueue_->add_option("--delay", delay_, "run after this long (e.g. 5m)");
  enqueue_->add_option("--run-at", run_at_, "run at this RFC 3339 time")->excludes(delay);
  enqueue_->add_option("--unique-key", unique_key_,
                       "idempotency key: a live job with it is returned instead");
  enqueue_->add_option("--unique-ttl", unique_ttl_, "how long the key is held (e.g. 1h)");
  enqueue_->add_option("--description", description_, "free text shown with the job");
  enqueue_->add_option("--wait", wait_, "wait up to this long for the job to end, then print it");
  AddVariableFlag(*enqueue_, "MAX_RETRIES", overrides);
  AddConnectionFlags(*enqueue_, overrides, &json_);

  job_ = app.add_subcommand("job", "Show one job.");
  job_->add_option("id", job_id_, "job id")->required();
  AddConnectionFlags(*job_, overrides, &json_);

  queues_ = app.add_subcommand("queues", "List queues with their counts per state.");
  AddConnectionFlags(*queues_, overrides, &json_);

  dlq_ = app.add_subcommand("dlq", "The dead-letter queue: list, retry, purge.");
  dlq_->require_subcommand(1);
  dlq_list_ = dlq_->add_subcommand("list", "List dead jobs, newest first.");
  dlq_list_->add_option("--queue", dlq_queue_, "one queue (default: every queue)");
  dlq_list_->add_option("--limit", limit_, "jobs shown, 1..1000")->capture_default_str();
  dlq_list_->add_option("--offset", offset_, "jobs skipped")->capture_default_str();
  AddConnectionFlags(*dlq_list_, overrides, &json_);
  for (CLI::App** command : {&dlq_retry_, &dlq_purge_}) {
    bool retry = command == &dlq_retry_;
    *command = dlq_->add_subcommand(
        retry ? "retry" : "purge", retry ? "Make dead jobs pending again (the ids given, or --all)."
                                         : "Delete dead jobs for good (the ids given, or --all).");
    (*command)->add_option("ids", ids_, "job ids");
    (*command)->add_flag("--all", all_, "every dead job (of --queue, else of every queue)");
    (*command)->add_option("--queue", dlq_queue_, "with --all: only this queue");
    AddConnectionFlags(**command, overrides, &json_);
  }

  workers_ = app.add_subcommand("workers", "List live workers (from their heartbeats).");
  AddConnectionFlags(*workers_, overrides, &json_);

  pause_ = app.add_subcommand("pause", "Stop workers from taking jobs of a queue.");
  pause_->add_option("queue", pause_queue_, "queue name")->required();
  AddConnectionFlags(*pause_, overrides, &json_);
  resume_ = app.add_subcommand("resume", "Let workers take jobs of a queue again.");
  resume_->add_option("queue", pause_queue_, "queue name")->required();
  AddConnectionFlags(*resume_, overrides, &json_);

  doctor_ = app.add_subcommand(
      "doctor",
      "Check Redis: version, maxmemory-policy, persistence (OK/WARN/FAIL with the fix), key "
      "INFO figures and the last 10 SLOWLOG entries. Exit 1 when a check FAILs.");
  AddConnectionFlags(*doctor_, overrides, &json_);

  migrate_ = app.add_subcommand(
      "migrate",
      "Move the jobs of key layout 1 (Bananas before engine v2) to layout 2, then mark Redis "
      "as layout 2. Stop every bananas service first; run with their RESULT_TTL_* settings. "
      "Safe to run again. Exit 1 when a job was left in layout 1 (listed) or workers are alive.");
  migrate_->add_flag("--force", force_,
                     "run although workers are alive, and set the layout although some job "
                     "hashes could not be moved (they stay in Redis, listed)");
  AddVariableFlag(*migrate_, "RESULT_TTL_SUCCESS", overrides);
  AddVariableFlag(*migrate_, "RESULT_TTL_FAILURE", overrides);
  AddConnectionFlags(*migrate_, overrides, &json_);
  schedules_ = app.add_subcommand("schedules", "Cron schedules: list, add, rm, pause, resume, trigger.");
  schedules_->require_subcommand(1);
  schedules_list_ = schedules_->add_subcommand("list", "List schedules with their next and last runs.");
  AddConnectionFlags(*schedules_list_, overrides, &json_);
  schedules_add_ = schedules_->add_subcommand(
      "add", "Create a schedule (or, with --replace, change one; its runs and pause are kept).");
  schedules_add_->add_option("id", schedule_id_, "schedule id, [A-Za-z0-9_.:-]{1,128}")->required();
  schedules_add_->add_option("cron", schedule_cron_,
                             "\"30 2 * * *\", 6 fields with seconds, @daily, \"@every 10m\"")
      ->required();
  schedules_add_->add_option("name", name_, "job type (handler name) each occurrence submits")
      ->required();
  auto* add_payload =
      schedules_add_->add_option("--payload", payload_, "payload (JSON, or else raw text)");
  schedules_add_->add_option("--payload-file", payload_file_, "read the payload from a file ('-': stdin)")
      ->excludes(add_payload);
  schedules_add_->add_option("--timezone", schedule_timezone_, "IANA time zone")->capture_default_str();
  schedules_add_->add_option("--missed", schedule_missed_,
                             "missed occurrences: once, skip or all")->capture_default_str();
  schedules_add_->add_option("--queue", queue_, "routing key")->capture_default_str();
  schedules_add_->add_option("--priority", priority_, "high, normal or low")->capture_default_str();
  schedules_add_->add_option("--timeout", timeout_, "run time limit (e.g. 30s)");
  schedules_add_->add_option("--description", description_, "free text shown with each job");
  schedules_add_->add_flag("--disabled", schedule_disabled_, "store it without firing");
  schedules_add_->add_flag("--replace", schedule_replace_, "replace a schedule with this id");
  AddVariableFlag(*schedules_add_, "MAX_RETRIES", overrides);
  AddConnectionFlags(*schedules_add_, overrides, &json_);
  for (auto [command, name, help] :
       {std::tuple{&schedules_rm_, "rm", "Delete a schedule (jobs it enqueued stay)."},
        std::tuple{&schedules_pause_, "pause", "Stop firing a schedule's occurrences."},
        std::tuple{&schedules_resume_, "resume",
                   "Fire again from the first occurrence after now."},
        std::tuple{&schedules_trigger_, "trigger",
                   "Enqueue a schedule's job now, outside its occurrences."}}) {
    *command = schedules_->add_subcommand(name, help);
    (*command)->add_option("id", schedule_id_, "schedule id")->required();
    AddConnectionFlags(**command, overrides, &json_);
  }
}

std::optional<std::string> AdminCommands::Chosen() const {
  for (CLI::App* command :
       {enqueue_, job_, queues_, workers_, pause_, resume_, doctor_, migrate_}) {
    if (command != nullptr && command->parsed()) return command->get_name();
  }
  if (schedules_ != nullptr && schedules_->parsed()) {
    for (CLI::App* command : {schedules_list_, schedules_add_, schedules_rm_, schedules_pause_,
                              schedules_resume_, schedules_trigger_}) {
      if (command->parsed()) return "schedules " + command->get_name();
    }
    return std::string("schedules");
  }
  if (dlq_ != nullptr && dlq_->parsed()) {
    for (CLI::App* command : {dlq_list_, dlq_retry_, dlq_purge_}) {
      if (command->parsed()) return "dlq " + command->get_name();
    }
    return std::string("dlq");
  }
  return std::nullopt;
}

int AdminCommands::Run(const Config& config) {
  std::string command = Chosen().value_or("admin");
  if (schedules_->parsed()) return RunSchedules(config, command);
  if (migrate_->parsed()) return RunMigrate(config, command);

  if (doctor_->parsed()) {
    auto options = redis::Options::FromUrl(config.redis_url);
    if (!options) return ReportFailure(command, options.status());
    auto connection = redis::Connection::Open(*options);
    if (!connection) return ReportFailure(command, connection.status());
    auto report = redis::CheckRedis(**connection);
    if (!report) return ReportFailure(command, report.status());
    if (json_) {
      PrintJson(api::RedisReportToJson(*report));
    } else {
      Print(DescribeReport(*report));
    }
    return report->failed() ? kExitFailure : kExitOk;
  }

  if (enqueue_->parsed()) {
    JobSpec spec;
    spec.name = name_;
    spec.queue = queue_;
    spec.max_retries = config.max_retries;
    spec.description = description_;
    spec.unique_key = unique_key_;
    if (!payload_file_.empty()) {
      auto text = ReadPayloadFile(payload_file_);
      if (!text) return ReportFailure(command, text.status());
      spec.payload = std::move(*text);
    } else {
      spec.payload = payload_;
    }
    auto priority = ParsePriority(priority_);
    if (!priority)
      return ReportFailure(command,
                           Status::InvalidArgument("--priority: must be high, normal or low"));
    spec.priority = *priority;
    if (!timeout_.empty()) {
      auto timeout = ParseDuration(timeout_, "--timeout");
      if (!timeout) return ReportFailure(command, timeout.status());
      spec.timeout_ms = timeout->count();
    }
    if (!delay_.empty()) {
      auto delay = ParseDuration(delay_, "--delay");
      if (!delay) return ReportFailure(command, delay.status());
      spec.run_at_unix_ms = delay->count() > 0 ? NowUnixMs() + delay->count() : 0;
    }
    if (!run_at_.empty()) {
      auto at = api::ParseRfc3339(run_at_);
      if (!at)
        return ReportFailure(command,
                             Status::InvalidArgument("--run-at: " + at.status().message()));
      spec.run_at_unix_ms = *at;
    }
    if (!unique_ttl_.empty()) {
      if (unique_key_.empty()) {
        return ReportFailure(command, Status::InvalidArgument("--unique-ttl: needs --unique-key"));
      }
      auto ttl = ParseDuration(unique_ttl_, "--unique-ttl");
      if (!ttl) return ReportFailure(command, ttl.status());
      spec.unique_ttl_ms = ttl->count();
    }
    std::optional<std::chrono::milliseconds> wait;
    if (!wait_.empty()) {
      auto parsed = ParseDuration(wait_, "--wait");
      if (!parsed) return ReportFailure(command, parsed.status());
      wait = *parsed;
    }
    Status valid = ValidateJobSpec(spec);
    if (!valid.ok()) return ReportFailure(command, valid);
    auto client = ConnectClient(config);
    if (!client) return ReportFailure(command, client.status());
    auto submitted = (*client)->Submit(spec);
    if (!submitted) return ReportFailure(command, submitted.status());
    auto job = wait ? (*client)->Wait(submitted->id, *wait) : (*client)->Get(submitted->id);
    if (!job) return ReportFailure(command, job.status().WithContext("job " + submitted->id));
    if (json_) {
      json::object view = api::JobToJson(*job);
      view["duplicate"] = submitted->duplicate;
      PrintJson(view);
    } else if (submitted->duplicate) {
      Print("duplicate of " + job->id + " (" + std::string(JobStateName(job->state)) + ")");
    } else {
      Print(job->id + " " + std::string(JobStateName(job->state)));
    }
    if (wait && job->state != JobState::kCompleted) return kExitFailure;
    return kExitOk;
  }

  if (job_->parsed()) {
    auto client = ConnectClient(config);
    if (!client) return ReportFailure(command, client.status());
    auto job = (*client)->Get(job_id_);
    if (!job) return ReportFailure(command, job.status());
    if (json_) {
      PrintJson(api::JobToJson(*job));
    } else {
      Print(DescribeJob(*job));
    }
    return kExitOk;
  }

  auto inspector = ConnectInspector(config);
  if (!inspector) return ReportFailure(command, inspector.status());
  Inspector& in = **inspector;

  if (queues_->parsed()) {
    auto queues = in.Queues();
    if (!queues) return ReportFailure(command, queues.status());
    if (json_) {
      json::array list;
      for (const QueueInfo& q : *queues) list.emplace_back(api::QueueToJson(q));
      PrintJson(json::object{{"queues", std::move(list)}});
      return kExitOk;
    }
    std::vector<std::vector<std::string>> rows = {
        {"QUEUE", "PAUSED", "HIGH", "NORMAL", "LOW", "SCHEDULED", "ACTIVE", "RETRYING", "DEAD"}};
    for (const QueueInfo& q : *queues) {
      rows.push_back({q.name, q.paused ? "yes" : "no", std::to_string(q.pending[0]),
                      std::to_string(q.pending[1]), std::to_string(q.pending[2]),
                      std::to_string(q.scheduled), std::to_string(q.active),
                      std::to_string(q.retrying), std::to_string(q.dead)});
    }
    Print(queues->empty() ? "no queues yet" : Table(rows));
    return kExitOk;
  }

  if (dlq_list_->parsed()) {
    auto page = in.ListDead(dlq_queue_, offset_, limit_);
    if (!page) return ReportFailure(command, page.status());
    if (json_) {
      json::array jobs;
      for (const Job& job : page->jobs) jobs.emplace_back(api::JobToJson(job));
      PrintJson(json::object{{"jobs", std::move(jobs)}, {"total", page->total}});
      return kExitOk;
    }
    std::vector<std::vector<std::string>> rows = {{"ID", "NAME", "ATTEMPTS", "DIED", "ERROR"}};
    for (const Job& job : page->jobs) {
      rows.push_back(
          {job.id, job.name, std::to_string(job.attempts), Time(job.finished_unix_ms), job.error});
    }
    Print(Table(rows) + "\n" + std::to_string(page->jobs.size()) + " shown of " +
          std::to_string(page->total) + " dead");
    return kExitOk;
  }

  if (dlq_retry_->parsed() || dlq_purge_->parsed()) {
    bool retry = dlq_retry_->parsed();
    const char* verb = retry ? "retried" : "purged";
    if (ids_.empty() == !all_) {
      return ReportFailure(command, Status::InvalidArgument("give job ids, or --all (not both)"));
    }
    if (!dlq_queue_.empty() && !all_) {
      return ReportFailure(command, Status::InvalidArgument("--queue goes with --all"));
    }
    int64_t done = 0;
    Status first_error;
    if (all_) {
      auto n = retry ? in.RetryAllDead(dlq_queue_) : in.PurgeAllDead(dlq_queue_);
      if (!n) return ReportFailure(command, n.status());
      done = *n;
    } else {
      for (const std::string& id : ids_) {
        Status s = retry ? in.RetryDead(id) : in.PurgeDead(id);
        if (s.ok()) {
          ++done;
        } else if (first_error.ok()) {
          first_error = s;
        }
      }
    }
    if (json_) {
      PrintJson(json::object{{verb, done}});
    } else {
      Print(std::string(verb) + " " + std::to_string(done));
    }
    if (!first_error.ok()) return ReportFailure(command, first_error);
    return kExitOk;
  }

  if (workers_->parsed()) {
    auto workers = in.Workers();
    if (!workers) return ReportFailure(command, workers.status());
    if (json_) {
      json::array list;
      for (const WorkerInfo& w : *workers) list.emplace_back(api::WorkerToJson(w));
      PrintJson(json::object{{"workers", std::move(list)}});
      return kExitOk;
    }
    std::vector<std::vector<std::string>> rows = {
        {"ID", "HOST", "PID", "QUEUES", "ACTIVE", "STARTED", "LAST HEARTBEAT"}};
    for (const WorkerInfo& w : *workers) {
      std::string queues;
      for (const std::string& q : w.queues) queues += (queues.empty() ? "" : ",") + q;
      rows.push_back({w.id, w.host, std::to_string(w.pid), queues,
                      std::to_string(w.active) + "/" + std::to_string(w.concurrency),
                      Time(w.started_unix_ms), Time(w.last_heartbeat_unix_ms)});
    }
    Print(workers->empty() ? "no live workers" : Table(rows));
    return kExitOk;
  }

  if (pause_->parsed() || resume_->parsed()) {
    bool pause = pause_->parsed();
    Status done = pause ? in.Pause(pause_queue_) : in.Resume(pause_queue_);
    if (!done.ok()) return ReportFailure(command, done);
    auto queue = in.Queue(pause_queue_);
    if (!queue) return ReportFailure(command, queue.status());
    if (json_) {
      PrintJson(api::QueueToJson(*queue));
    } else {
      Print("queue " + pause_queue_ + (pause ? " paused" : " resumed"));
    }
    return kExitOk;
  }
  return ReportFailure(command, Status::InvalidArgument("no admin command chosen"));
}

int AdminCommands::RunMigrate(const Config& config, const std::string& command) {
  auto options = redis::Options::FromUrl(config.redis_url);
  if (!options) return ReportFailure(command, options.status());
  auto connection = redis::Connection::Open(*options);
  if (!connection) return ReportFailure(command, connection.status());
  // Jobs held by a running worker would be moved under it: its ack or heartbeat would then
  // meet a layout it does not know.
  auto live = queue::LiveWorkers(**connection, config.prefix);
  if (!live) return ReportFailure(command, live.status());
  if (!live->empty() && !force_) {
    std::string ids;
    for (const auto& id : *live) ids += (ids.empty() ? "" : ", ") + id;
    return ReportFailure(command, Status::FailedPrecondition(
                                      std::to_string(live->size()) + " worker(s) alive (" + ids +
                                      "): stop every bananas service first (or --force)"));
  }
  queue::BrokerOptions broker_options;
  broker_options.prefix = config.prefix;
  broker_options.result_ttl_success_ms = config.result_ttl_success.count();
  broker_options.result_ttl_failure_ms = config.result_ttl_failure.count();
  queue::MigrateOptions migrate;
  migrate.set_layout_with_left = force_;
  auto report = queue::MigrateLayout1(**connection, broker_options, Clock::System(), migrate);
  if (!report) return ReportFailure(command, report.status());
  if (json_) {
    json::array left;
    for (const auto& l : report->left) left.emplace_back(l);
    PrintJson(json::object{{"layout_before", report->layout_before},
                           {"queues", report->queues},
                           {"moved", report->moved()},
                           {"pending", report->pending},
                           {"scheduled", report->scheduled},
                           {"retrying", report->retrying},
                           {"dead", report->dead},
                           {"requeued", report->requeued},
                           {"completed", report->completed},
                           {"cancelled", report->cancelled},
                           {"expired", report->expired},
                           {"skipped", report->skipped},
                           {"stale_leases", report->stale_leases},
                           {"inboxes", report->inboxes},
                           {"tombstones", report->tombstones},
                           {"left", std::move(left)},
                           {"layout_set", report->layout_set}});
  } else {
    Print(queue::DescribeMigrateReport(*report));
  }
  return report->layout_set && report->left.empty() ? kExitOk : kExitFailure;
}

int AdminCommands::RunSchedules(const Config& config, const std::string& command) {
  auto options = redis::Options::FromUrl(config.redis_url);
  if (!options) return ReportFailure(command, options.status());
  auto connection = redis::Connection::Open(*options);
  if (!connection) return ReportFailure(command, connection.status());
  queue::BrokerOptions broker_options;
  broker_options.prefix = config.prefix;
  queue::Broker broker(**connection, broker_options);
  queue::ScheduleStore store(**connection, config.prefix);

  auto show = [&](const cron::Schedule& s, const std::string& headline) {
    if (json_) {
      PrintJson(api::ScheduleToJson(s));
    } else {
      Print(headline + "\n" + DescribeSchedule(s));
    }
    return kExitOk;
  };

  if (schedules_list_->parsed()) {
    auto schedules = store.List();
    if (!schedules) return ReportFailure(command, schedules.status());
    if (json_) {
      json::array list;
      for (const cron::Schedule& s : *schedules) list.emplace_back(api::ScheduleToJson(s));
      PrintJson(json::object{{"schedules", std::move(list)}});
      return kExitOk;
    }
    std::vector<std::vector<std::string>> rows = {
        {"ID", "CRON", "TIMEZONE", "STATE", "JOB", "NEXT RUN", "LAST RUN", "RUNS", "LAST ERROR"}};
    for (const cron::Schedule& s : *schedules) {
      rows.push_back({s.spec.id, s.spec.cron, s.spec.timezone, ScheduleState(s),
                      s.spec.job.name + "@" + s.spec.job.queue,
                      s.next_run_unix_ms >= 0 ? Time(s.next_run_unix_ms) : "-",
                      Time(s.last_run_unix_ms), std::to_string(s.run_count),
                      s.last_error.empty() ? "-" : s.last_error});
    }
    Print(schedules->empty() ? "no schedules" : Table(rows));
    return kExitOk;
  }

  if (schedules_add_->parsed()) {
    // Built as the API's body and checked by the API's parser: one validation for both.
    json::object job;
    job["name"] = name_;
    std::string payload = payload_;
    if (!payload_file_.empty()) {
      auto text = ReadPayloadFile(payload_file_);
      if (!text) return ReportFailure(command, text.status());
      payload = std::move(*text);
    }
    if (!payload.empty()) {
      boost::system::error_code ec;
      json::value parsed = json::parse(payload, ec);
      if (ec) {
        job["payload_base64"] = api::EncodeBase64(payload);
      } else {
        job["payload"] = std::move(parsed);
      }
    }
    job["queue"] = queue_;
    job["priority"] = priority_;
    job["max_retries"] = config.max_retries;
    if (!timeout_.empty()) {
      auto timeout = ParseDuration(timeout_, "--timeout");
      if (!timeout) return ReportFailure(command, timeout.status());
      job["timeout_ms"] = timeout->count();
    }
    if (!description_.empty()) job["description"] = description_;
    json::object body{{"id", schedule_id_},         {"cron", schedule_cron_},
                      {"timezone", schedule_timezone_}, {"missed", schedule_missed_},
                      {"enabled", !schedule_disabled_}, {"job", std::move(job)}};
    api::SubmitDefaults defaults;
    defaults.max_retries = config.max_retries;
    auto parsed = api::ParseScheduleBody(body, defaults, NowUnixMs());
    if (!parsed.ok()) {
      const api::ApiError& e = parsed.error();
      std::string field = e.field == "job.name" ? "name" : e.field;
      return ReportFailure(command, Status::InvalidArgument(
                                        (field.empty() ? "" : field + ": ") + e.message));
    }
    auto created = store.Put(parsed->spec, parsed->next_run_unix_ms,
                             schedule_replace_ ? queue::PutMode::kUpsert : queue::PutMode::kCreate);
    if (!created) {
      Status s = created.status();
      if (s.code() == Status::Code::kAlreadyExists) {
        s = Status::AlreadyExists(s.message() + " (--replace changes it)");
      }
      return ReportFailure(command, s);
    }
    auto schedule = store.Get(schedule_id_);
    if (!schedule) return ReportFailure(command, schedule.status());
    return show(*schedule, "schedule " + schedule_id_ + (*created ? " created" : " replaced"));
  }

  if (schedules_rm_->parsed()) {
    Status done = store.Delete(schedule_id_);
    if (!done.ok()) return ReportFailure(command, done);
    if (json_) {
      PrintJson(json::object{{"deleted", schedule_id_}});
    } else {
      Print("schedule " + schedule_id_ + " deleted");
    }
    return kExitOk;
  }

  if (schedules_pause_->parsed() || schedules_resume_->parsed()) {
    bool pause = schedules_pause_->parsed();
    Status done = pause ? store.Pause(schedule_id_) : store.ResumeFromNow(schedule_id_);
    if (!done.ok()) return ReportFailure(command, done);
    auto schedule = store.Get(schedule_id_);
    if (!schedule) return ReportFailure(command, schedule.status());
    return show(*schedule, "schedule " + schedule_id_ + (pause ? " paused" : " resumed"));
  }

  if (schedules_trigger_->parsed()) {
    auto job_id = store.Trigger(broker, schedule_id_);
    if (!job_id) return ReportFailure(command, job_id.status());
    auto job = broker.GetJob(*job_id);
    if (!job) return ReportFailure(command, job.status());
    if (json_) {
      auto schedule = store.Get(schedule_id_);
      if (!schedule) return ReportFailure(command, schedule.status());
      PrintJson(json::object{{"job", api::JobToJson(*job)},
                             {"schedule", api::ScheduleToJson(*schedule)}});
    } else {
      Print("schedule " + schedule_id_ + " triggered: job " + *job_id);
    }
    return kExitOk;
  }
  return ReportFailure(command, Status::InvalidArgument("no schedules command chosen"));
}

}  // namespace bananas::app
