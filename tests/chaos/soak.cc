// chaos_soak: the long version of chaos_test (docs/RELIABILITY.md). Not a ctest: it runs for
// minutes, so CI never starts it; run it by hand before a release.
//
// It starts a redis-server (AOF, appendfsync everysec), one `bananas scheduler` and N
// `bananas worker` processes, submits --jobs jobs of the built-in types (noop, echo, sleep,
// cpu, fail with and without `times`) in batches, and while they run:
//   - kills a random worker with SIGKILL --kills times, spread over the run, each time one that
//     reported running jobs at its last heartbeat, and starts a replacement at once;
//   - restarts Redis --redis-restarts times (SIGTERM, then the same port and data directory).
// At each fault it records how many leases were held (Inspector active count: an upper bound
// on the jobs in flight). Once every job is terminal it reads every job back and checks it
// against the rule of its kind (CheckJob below), counts duplicate runs, and compares them with
// the in-flight bound. Exit status 0 only when nothing was lost, every job is in the state its
// handler asked for, every result is right and the duplicates are within the bound.
//
// The rule each job is checked against (A = attempts, R = recoveries, r = max_retries; n = the
// runs its handler needs: 1 for noop/echo/sleep/cpu, times + 1 for fail {"times":k}):
//   - A lease that expires after its job started is charged: the run counts as an attempt, its
//     history gets "lease expired: worker lost during attempt a" and R goes up by one. A lease
//     never reported started (prefetched, handed to an idle worker) is given back uncharged.
//     A graceful hand-back is not charged either. So attempt numbers 1..A-1 each have exactly
//     one history entry: the handler's error, or the lease expiry.
//   - completing kinds: state completed, A >= n, attempts n..A-1 all lost with their worker
//     (the handler succeeds from attempt n on), attempts < n failed or lost, R = the number of
//     "lease expired" entries, and the result is what the handler returns (echo: the payload;
//     fail: "succeeded on attempt A"). Duplicates of the job = A - n.
//     The one other legal end (SPEC §3: a run lost with its worker on the last attempt sends the
//     job to the DLQ): state failed, A = r + 1, attempts n..r+1 all lost. Reported as
//     "exhausted by worker losses"; max_retries leaves >= 2 spare attempts so it needs 3 kills
//     of the same job.
//   - fail without times: state failed, A = r + 1, every attempt 1..r+1 in the history.
//   - sum(A - n) <= the sum of the leases held at each fault.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bananas/client.h"
#include "bananas/inspector.h"
#include "process.h"  // tests/e2e
#include "redis_server.h"

namespace bananas::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

int64_t NowUnixMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// --- Flags.

struct Flags {
  int64_t jobs = 200'000;
  int workers = 3;
  int kills = 50;
  int redis_restarts = 3;
  bool redis_kill = false;  // SIGKILL Redis instead of SIGTERM (may lose the last second)
  milliseconds duration_limit = std::chrono::minutes(30);
  uint64_t seed = 0;  // 0: from the clock
  int concurrency = 8;
  milliseconds lease_timeout{2000};
  int batch = 1000;
  int64_t backlog = 20'000;  // most jobs waiting before the next batch is submitted
  std::string log_level = "info";
  std::string log_dir;  // empty: /tmp/bananas-soak-<seed>
};

void Usage() {
  std::printf(
      "usage: chaos_soak [--jobs N] [--workers N] [--kills N] [--redis-restarts N]\n"
      "                  [--redis-kill] [--duration-limit 30m] [--seed N] [--concurrency N]\n"
      "                  [--lease-timeout 2s] [--batch N] [--backlog N] [--log-level info]\n"
      "                  [--log-dir DIR]\n"
      "  --jobs             jobs submitted (default 200000)\n"
      "  --workers          `bananas worker` processes (default 3)\n"
      "  --kills            SIGKILLs of a worker holding leases, spread over the run (default 50)\n"
      "  --redis-restarts   graceful Redis restarts (SIGTERM, same port and AOF) (default 3)\n"
      "  --redis-kill       restart Redis after SIGKILL instead: appendfsync everysec may lose\n"
      "                     the last second of acknowledged writes, so violations can follow\n"
      "  --duration-limit   hard stop; jobs not terminal by then are violations (default 30m)\n"
      "  --seed             seed of the job mix and of the victims (default: the clock)\n"
      "  --concurrency      WORKER_CONCURRENCY of each worker (default 8)\n"
      "  --lease-timeout    LEASE_TIMEOUT of workers and scheduler (default 2s)\n"
      "  --batch            jobs per SubmitBatch (default 1000)\n"
      "  --backlog          most waiting jobs before the next batch (default 20000)\n"
      "  --log-level        LOG_LEVEL of the services (default info)\n"
      "  --log-dir          where service logs go (default /tmp/bananas-soak-<seed>)\n");
}

// "90s", "30m", "2h", "1500ms" or a number of seconds.
std::optional<milliseconds> ParseDuration(const std::string& text) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || value < 0) return std::nullopt;
  std::string unit(end);
  double ms = 0;
  if (unit.empty() || unit == "s") {
    ms = value * 1000;
  } else if (unit == "ms") {
    ms = value;
  } else if (unit == "m") {
    ms = value * 60'000;
  } else if (unit == "h") {
    ms = value * 3'600'000;
  } else {
    return std::nullopt;
  }
  return milliseconds(static_cast<int64_t>(ms));
}

std::optional<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      Usage();
      std::exit(0);
    }
    if (arg == "--redis-kill") {
      f.redis_kill = true;
      continue;
    }
    std::string value;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      std::fprintf(stderr, "chaos_soak: %s needs a value\n", arg.c_str());
      return std::nullopt;
    }
    auto integer = [&](int64_t min) -> std::optional<int64_t> {
      char* end = nullptr;
      long long v = std::strtoll(value.c_str(), &end, 10);
      if (end == value.c_str() || *end != '\0' || v < min) {
        std::fprintf(stderr, "chaos_soak: %s: expected an integer >= %" PRId64 ", got \"%s\"\n",
                     arg.c_str(), min, value.c_str());
        return std::nullopt;
      }
      return v;
    };
    auto duration = [&]() -> std::optional<milliseconds> {
      auto d = ParseDuration(value);
      if (!d || d->count() <= 0) {
        std::fprintf(stderr, "chaos_soak: %s: expected a duration like 90s or 30m, got \"%s\"\n",
                     arg.c_str(), value.c_str());
      }
      return d;
    };
    std::optional<int64_t> n;
    if (arg == "--jobs") {
      if (!(n = integer(1))) return std::nullopt;
      f.jobs = *n;
    } else if (arg == "--workers") {
      if (!(n = integer(1))) return std::nullopt;
      f.workers = static_cast<int>(*n);
    } else if (arg == "--kills") {
      if (!(n = integer(0))) return std::nullopt;
      f.kills = static_cast<int>(*n);
    } else if (arg == "--redis-restarts") {
      if (!(n = integer(0))) return std::nullopt;
      f.redis_restarts = static_cast<int>(*n);
    } else if (arg == "--seed") {
      if (!(n = integer(0))) return std::nullopt;
      f.seed = static_cast<uint64_t>(*n);
    } else if (arg == "--concurrency") {
      if (!(n = integer(1))) return std::nullopt;
      f.concurrency = static_cast<int>(*n);
    } else if (arg == "--batch") {
      if (!(n = integer(1))) return std::nullopt;
      f.batch = static_cast<int>(*n);
    } else if (arg == "--backlog") {
      if (!(n = integer(1))) return std::nullopt;
      f.backlog = *n;
    } else if (arg == "--duration-limit") {
      auto d = duration();
      if (!d) return std::nullopt;
      f.duration_limit = *d;
    } else if (arg == "--lease-timeout") {
      auto d = duration();
      if (!d) return std::nullopt;
      f.lease_timeout = *d;
    } else if (arg == "--log-level") {
      f.log_level = value;
    } else if (arg == "--log-dir") {
      f.log_dir = value;
    } else {
      std::fprintf(stderr, "chaos_soak: unknown flag %s (see --help)\n", arg.c_str());
      return std::nullopt;
    }
  }
  if (f.seed == 0) f.seed = static_cast<uint64_t>(NowUnixMs());
  if (f.log_dir.empty()) f.log_dir = "/tmp/bananas-soak-" + std::to_string(f.seed);
  return f;
}

// --- The job mix.

enum class Kind { kNoop, kEcho, kSleep, kCpu, kFailTimes, kFailAlways };
constexpr int kKinds = 6;
const char* const kKindNames[kKinds] = {"noop", "echo",       "sleep",
                                        "cpu",  "fail_times", "fail_always"};

// What was submitted, and what its handler will ask for.
struct Plan {
  Kind kind = Kind::kNoop;
  int max_retries = 3;
  int times = 0;   // fail {"times":k}
  int64_t ms = 0;  // sleep, cpu
  std::string payload;
  Priority priority = Priority::kNormal;
};

// Runs the handler needs before it succeeds; 0 for a job that never succeeds.
int Needed(const Plan& p) {
  switch (p.kind) {
    case Kind::kFailTimes:
      return p.times + 1;
    case Kind::kFailAlways:
      return 0;
    default:
      return 1;
  }
}

// The result the handler returns on the run numbered `attempt`.
std::string ExpectedResult(const Plan& p, int attempt) {
  switch (p.kind) {
    case Kind::kNoop:
      return "";
    case Kind::kEcho:
      return p.payload;
    case Kind::kSleep:
      return "slept " + std::to_string(p.ms) + "ms";
    case Kind::kCpu:
      return "burned " + std::to_string(p.ms) + "ms";
    case Kind::kFailTimes:
      return "succeeded on attempt " + std::to_string(attempt);
    case Kind::kFailAlways:
      return "";
  }
  return "";
}

// 10% high, 80% normal, 10% low.
Priority MakePriority(std::mt19937_64& rng) {
  int64_t roll = std::uniform_int_distribution<int64_t>(0, 9)(rng);
  return roll == 0 ? Priority::kHigh : roll == 9 ? Priority::kLow : Priority::kNormal;
}

// 35% noop, 20% echo, 20% sleep, 10% cpu, 10% fail {"times":1..2}, 5% fail forever.
// Completing kinds get >= 2 spare attempts (max_retries >= n + 1), so that a job ends in the
// DLQ through worker losses only if three of its runs die with their workers.
Plan MakePlan(std::mt19937_64& rng, int64_t index) {
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  Plan p;
  int64_t roll = uniform(0, 99);
  if (roll < 35) {
    p.kind = Kind::kNoop;
  } else if (roll < 55) {
    p.kind = Kind::kEcho;
    // Any bytes are opaque to the queue: printable text, quotes, backslashes, and now and
    // then a NUL or a high byte, of length 0..256.
    int64_t length = uniform(0, 256);
    p.payload = "#" + std::to_string(index) + ":";
    for (int64_t i = 0; i < length; ++i) {
      int64_t c = uniform(0, 99) == 0 ? uniform(0, 255) : uniform(32, 126);
      p.payload.push_back(static_cast<char>(c));
    }
  } else if (roll < 75) {
    p.kind = Kind::kSleep;
    int64_t tier = uniform(0, 999);
    // Mostly short; 1 in 200 longer than the lease (heartbeats must keep it).
    p.ms = tier < 800 ? uniform(1, 20) : tier < 995 ? uniform(20, 200) : uniform(500, 3000);
  } else if (roll < 85) {
    p.kind = Kind::kCpu;
    p.ms = uniform(1, 5);
  } else if (roll < 95) {
    p.kind = Kind::kFailTimes;
    p.times = static_cast<int>(uniform(1, 2));
  } else {
    p.kind = Kind::kFailAlways;
  }
  p.priority = MakePriority(rng);
  switch (p.kind) {
    case Kind::kFailTimes:
      p.max_retries = p.times + static_cast<int>(uniform(2, 3));
      p.payload = "{\"times\":" + std::to_string(p.times) + "}";
      break;
    case Kind::kFailAlways:
      p.max_retries = static_cast<int>(uniform(0, 2));
      p.payload = "{}";
      break;
    case Kind::kSleep:
    case Kind::kCpu:
      p.max_retries = static_cast<int>(uniform(2, 3));
      p.payload = "{\"ms\":" + std::to_string(p.ms) + "}";
      break;
    default:
      p.max_retries = static_cast<int>(uniform(2, 3));
      break;
  }
  return p;
}

// --- Faults.

enum class FaultKind { kKill, kRedisRestart };

struct Fault {
  FaultKind kind;
  int64_t at_unix_ms = 0;     // when it was done (for a restart: when Redis went down)
  int64_t until_unix_ms = 0;  // when it was over (a restart: Redis answering again)
  int64_t in_flight = 0;      // leases held: max of just before and just after
  int victim_running = 0;     // kill: the victim's running jobs at its last heartbeat
  int victim_slot = -1;       // kill: which worker slot, and the process killed
  int64_t victim_pid = 0;
  int number = 0;       // 1-based, per kind
  double progress = 0;  // terminal jobs / all jobs when it happened
};

// --- The run.

class Soak {
 public:
  explicit Soak(Flags flags) : flags_(std::move(flags)), rng_(flags_.seed) {}

  int Run();

 private:
  std::map<std::string, std::optional<std::string>> Env() const {
    return {{"REDIS_URL", server_->url()},
            {"WORKER_CONCURRENCY", std::to_string(flags_.concurrency)},
            {"LEASE_TIMEOUT", std::to_string(flags_.lease_timeout.count()) + "ms"},
            {"SHUTDOWN_GRACE", "5s"},
            {"PPROF_PORT", "0"},
            {"LOG_LEVEL", flags_.log_level}};
  }
  std::unique_ptr<Process> Spawn(const std::string& command) {
    auto p = Process::Start({{BANANAS_BIN, command}, Env()});
    if (!p.ok()) {
      std::fprintf(stderr, "chaos_soak: cannot start bananas %s: %s\n", command.c_str(),
                   p.status().ToString().c_str());
      return nullptr;
    }
    return std::move(*p);
  }
  void SaveLog(const std::string& name, const Process& process) {
    std::ofstream(flags_.log_dir + "/" + name + ".log") << process.Output();
  }

  // Jobs not yet terminal (pending, scheduled, leased, retrying); nullopt while Redis is down.
  std::optional<int64_t> Unfinished(int64_t* active = nullptr) {
    auto q = inspector_->Queue("default");
    if (!q.ok()) return std::nullopt;
    if (active != nullptr) *active = q->active;
    return q->pending[0] + q->pending[1] + q->pending[2] + q->scheduled + q->active + q->retrying;
  }
  int64_t ActiveNow() {
    int64_t active = 0;
    for (int i = 0; i < 100; ++i) {
      if (Unfinished(&active)) return active;
      std::this_thread::sleep_for(milliseconds(20));  // Redis is coming back
    }
    return 0;
  }

  // The fault a charged lease expiry recorded at `at_unix_ms` can follow from: the latest one
  // whose window (see the definition) holds it; null when none does.
  const Fault* CauseOf(int64_t at_unix_ms) const;
  std::string Explain(int64_t at_unix_ms) const;
  std::string Describe(const std::string& id, const Plan& plan, const Job& job) const;
  bool SubmitNextBatch();
  bool Kill(double progress);
  bool RestartRedis(double progress);
  int Check(double run_seconds, bool wait);

  Flags flags_;
  std::mt19937_64 rng_;
  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<Inspector> inspector_;
  std::unique_ptr<Process> scheduler_;
  std::vector<std::unique_ptr<Process>> workers_;
  std::vector<int> generations_;  // per worker slot: replacements started
  std::vector<Plan> plans_;
  std::vector<std::string> ids_;
  std::vector<Fault> faults_;
  int kill_count_ = 0;
  int restart_count_ = 0;
  int64_t submit_retries_ = 0;
  int64_t resubmitted_duplicates_ = 0;  // ids a retried batch got back through unique keys
};

bool Soak::SubmitNextBatch() {
  size_t first = ids_.size();
  size_t count = std::min<size_t>(flags_.batch, plans_.size() - first);
  std::vector<JobSpec> specs(count);
  for (size_t i = 0; i < count; ++i) {
    const Plan& p = plans_[first + i];
    JobSpec& s = specs[i];
    s.name = p.kind == Kind::kFailTimes || p.kind == Kind::kFailAlways
                 ? "fail"
                 : kKindNames[static_cast<int>(p.kind)];
    s.payload = p.payload;
    s.max_retries = p.max_retries;
    s.priority = p.priority;
    // A batch whose reply is lost (Redis going down) is sent again; its unique keys make the
    // second send return the first one's ids instead of adding jobs nobody checks.
    s.unique_key = "soak-" + std::to_string(flags_.seed) + "-" + std::to_string(first + i);
  }
  for (int attempt = 0; attempt < 600; ++attempt) {
    auto r = client_->SubmitBatch(specs);
    if (r.ok()) {
      if (r->size() != count) {
        std::fprintf(stderr, "chaos_soak: SubmitBatch returned %zu ids for %zu jobs\n", r->size(),
                     count);
        return false;
      }
      for (const auto& s : *r) {
        ids_.push_back(s.id);
        if (s.duplicate) ++resubmitted_duplicates_;
      }
      return true;
    }
    ++submit_retries_;
    std::this_thread::sleep_for(milliseconds(100));  // Redis restarting: try again
  }
  std::fprintf(stderr, "chaos_soak: SubmitBatch kept failing for a minute\n");
  return false;
}

// Kills a worker that reported running jobs at its last heartbeat. False if none does now.
bool Soak::Kill(double progress) {
  auto live = inspector_->Workers();
  if (!live.ok()) return false;
  std::vector<std::pair<int, int>> candidates;  // slot, running jobs
  for (size_t slot = 0; slot < workers_.size(); ++slot) {
    for (const auto& w : *live) {
      if (w.pid == workers_[slot]->pid() && w.active > 0) {
        candidates.emplace_back(static_cast<int>(slot), w.active);
      }
    }
  }
  if (candidates.empty()) return false;
  auto [slot, running] =
      candidates[std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(rng_)];
  int64_t before = 0;
  if (!Unfinished(&before)) return false;
  Fault f{FaultKind::kKill};
  f.at_unix_ms = NowUnixMs();
  workers_[slot]->Signal(SIGKILL);
  workers_[slot]->WaitExit(seconds(10));
  f.until_unix_ms = NowUnixMs();
  // The victim's leases stay in the lease set until they expire (a lease timeout after its
  // last heartbeat), so the count just after the kill still includes every one of them.
  f.in_flight = std::max(before, ActiveNow());
  f.victim_running = running;
  f.victim_slot = slot;
  f.victim_pid = workers_[slot]->pid();
  f.number = ++kill_count_;
  f.progress = progress;
  faults_.push_back(f);
  SaveLog("worker" + std::to_string(slot) + "." + std::to_string(generations_[slot]),
          *workers_[slot]);
  ++generations_[slot];
  workers_[slot] = Spawn("worker");
  return workers_[slot] != nullptr;
}

bool Soak::RestartRedis(double progress) {
  Fault f{FaultKind::kRedisRestart};
  int64_t before = 0;
  if (!Unfinished(&before)) return false;
  f.at_unix_ms = NowUnixMs();
  if (flags_.redis_kill) server_->Kill();
  Status s = server_->Restart();  // same port, same data directory (AOF)
  if (!s.ok()) {
    std::fprintf(stderr, "chaos_soak: Redis did not come back: %s\n", s.ToString().c_str());
    return false;
  }
  f.until_unix_ms = NowUnixMs();
  f.in_flight = std::max(before, ActiveNow());
  f.progress = progress;
  f.number = ++restart_count_;
  faults_.push_back(f);
  return true;
}

int Soak::Run() {
  std::error_code ec;
  std::filesystem::create_directories(flags_.log_dir, ec);
  if (ec) {
    std::fprintf(stderr, "chaos_soak: cannot create %s: %s\n", flags_.log_dir.c_str(),
                 ec.message().c_str());
    return 2;
  }
  std::printf("chaos_soak: seed %" PRIu64 ", %" PRId64 " jobs, %d workers x %d, lease %" PRId64
              "ms, %d kills, %d Redis %s; logs in %s\n",
              flags_.seed, flags_.jobs, flags_.workers, flags_.concurrency,
              static_cast<int64_t>(flags_.lease_timeout.count()), flags_.kills,
              flags_.redis_restarts, flags_.redis_kill ? "kill -9 restarts" : "graceful restarts",
              flags_.log_dir.c_str());
  std::fflush(stdout);

  RedisServerOptions ro;
  ro.appendonly = true;
  ro.extra_args = {"--appendfsync", "everysec"};
  auto server = RedisServer::Start(ro);
  if (!server.ok()) {
    std::fprintf(stderr, "chaos_soak: %s\n", server.status().ToString().c_str());
    return 2;
  }
  server_ = std::move(*server);
  ClientOptions co;
  co.redis_url = server_->url();
  auto client = Client::Connect(co);
  InspectorOptions io;
  io.redis_url = server_->url();
  auto inspector = Inspector::Connect(io);
  if (!client.ok() || !inspector.ok()) {
    std::fprintf(stderr, "chaos_soak: cannot connect to %s\n", server_->url().c_str());
    return 2;
  }
  client_ = std::move(*client);
  inspector_ = std::move(*inspector);

  plans_.reserve(flags_.jobs);
  for (int64_t i = 0; i < flags_.jobs; ++i) plans_.push_back(MakePlan(rng_, i));
  ids_.reserve(flags_.jobs);

  scheduler_ = Spawn("scheduler");
  if (!scheduler_) return 2;
  for (int i = 0; i < flags_.workers; ++i) {
    workers_.push_back(Spawn("worker"));
    generations_.push_back(0);
    if (!workers_.back()) return 2;
  }

  // Faults fall due by progress (terminal jobs / all jobs), spread over the first 85% of the
  // run so that each finds work in flight whatever the machine's speed. A restart and a kill
  // are kept two lease periods apart, so that each recovery can be put down to one of them.
  const int64_t total = flags_.jobs;
  auto kill_due = [&](int i) { return 0.85 * (i + 0.5) / std::max(flags_.kills, 1); };
  auto restart_due = [&](int i) { return 0.8 * (i + 0.5) / std::max(flags_.redis_restarts, 1); };
  const int64_t gap_ms = 2 * flags_.lease_timeout.count();
  int kills = 0, restarts = 0;
  int64_t kill_waits = 0;
  int64_t last_fault_ms = 0;    // the end of the last kill or restart
  int64_t last_restart_ms = 0;  // the end of the last restart
  int64_t terminal = 0;
  int64_t last_terminal = -1;
  auto last_progress = SteadyClock::now();
  int zero_reads = 0;
  bool timed_out = false, stalled = false;
  const auto start = SteadyClock::now();

  while (true) {
    if (SteadyClock::now() - start > flags_.duration_limit) {
      timed_out = true;
      break;
    }
    auto unfinished = Unfinished();
    if (unfinished) {
      terminal = static_cast<int64_t>(ids_.size()) - *unfinished;
      if (ids_.size() < plans_.size() && *unfinished < flags_.backlog) {
        if (!SubmitNextBatch()) return 2;
        continue;
      }
    }
    double progress = static_cast<double>(terminal) / total;
    if (terminal != last_terminal) {
      last_terminal = terminal;
      last_progress = SteadyClock::now();
    } else if (SteadyClock::now() - last_progress > std::chrono::minutes(3)) {
      stalled = true;
      break;
    }
    // Done once every job is submitted and nothing is left, read three times in a row (the
    // counts are read one after the other: a job being promoted can be missed once).
    if (ids_.size() == plans_.size() && unfinished && *unfinished == 0) {
      if (++zero_reads >= 3) break;
    } else {
      zero_reads = 0;
    }
    int64_t now_ms = NowUnixMs();
    bool restart_pending = restarts < flags_.redis_restarts && progress >= restart_due(restarts);
    if (restart_pending && now_ms - last_fault_ms >= gap_ms) {
      if (!RestartRedis(progress)) return 2;
      ++restarts;
      last_restart_ms = last_fault_ms = NowUnixMs();
      const Fault& f = faults_.back();
      std::printf("[%6.1fs] Redis restart %d at %.0f%%: down %" PRId64 "ms, %" PRId64
                  " leases held\n",
                  SecondsSince(start), restarts, progress * 100, f.until_unix_ms - f.at_unix_ms,
                  f.in_flight);
      std::fflush(stdout);
    } else if (!restart_pending && kills < flags_.kills && progress >= kill_due(kills) &&
               now_ms - last_restart_ms >= gap_ms && unfinished) {
      if (!Kill(progress)) {
        ++kill_waits;  // no worker reported running jobs at its last heartbeat: next look
      } else {
        ++kills;
        last_fault_ms = NowUnixMs();
        if (kills % 10 == 0 || kills == flags_.kills) {
          std::printf("[%6.1fs] kill %d at %.0f%%: %" PRId64 " leases held\n", SecondsSince(start),
                      kills, progress * 100, faults_.back().in_flight);
          std::fflush(stdout);
        }
      }
    }
    std::this_thread::sleep_for(milliseconds(50));  // the next look at the counts
  }
  double run_seconds = SecondsSince(start);
  std::printf("chaos_soak: %" PRId64 " looks found no worker running jobs when a kill was due\n",
              kill_waits);
  if (timed_out) {
    std::printf("chaos_soak: duration limit reached with %" PRId64 " jobs not terminal\n",
                total - terminal);
  }
  if (stalled) {
    std::printf("chaos_soak: no job finished for 3 minutes; %" PRId64 " not terminal\n",
                total - terminal);
  }

  // Every job read back and checked while the services still run (a job still retrying when
  // the counts were read must be able to finish), then the services stopped: each must exit 0
  // on SIGTERM.
  int violations = Check(run_seconds, /*wait=*/!timed_out && !stalled);
  {
    std::ofstream out(flags_.log_dir + "/faults.tsv");
    out << "kind\tnumber\tat_unix_ms\tuntil_unix_ms\tprogress\tleases_held\tvictim_slot"
           "\tvictim_pid\tvictim_running\n";
    for (const auto& f : faults_) {
      out << (f.kind == FaultKind::kKill ? "kill" : "redis_restart") << '\t' << f.number << '\t'
          << f.at_unix_ms << '\t' << f.until_unix_ms << '\t' << f.progress << '\t' << f.in_flight
          << '\t' << f.victim_slot << '\t' << f.victim_pid << '\t' << f.victim_running << '\n';
    }
  }
  int bad_exits = 0;
  auto stop = [&](std::unique_ptr<Process>& p, const std::string& name) {
    if (!p) return;
    p->Signal(SIGTERM);
    auto code = p->WaitExit(seconds(30));
    SaveLog(name, *p);
    if (!code || *code != 0) {
      ++bad_exits;
      std::printf("chaos_soak: %s exited %s on SIGTERM (log %s/%s.log)\n", name.c_str(),
                  code ? std::to_string(*code).c_str() : "not at all", flags_.log_dir.c_str(),
                  name.c_str());
    }
  };
  for (size_t slot = 0; slot < workers_.size(); ++slot) {
    stop(workers_[slot],
         "worker" + std::to_string(slot) + "." + std::to_string(generations_[slot]));
  }
  stop(scheduler_, "scheduler");
  std::filesystem::copy_file(server_->data_dir() + "/redis.log", flags_.log_dir + "/redis.log",
                             std::filesystem::copy_options::overwrite_existing, ec);

  if (kills < flags_.kills || restarts < flags_.redis_restarts) {
    std::printf(
        "VIOLATION: only %d of %d kills and %d of %d Redis restarts happened (the jobs ran out "
        "first: a kill waits two lease periods after a restart; use more --jobs or fewer "
        "faults)\n",
        kills, flags_.kills, restarts, flags_.redis_restarts);
    ++violations;
  }
  if (timed_out || stalled) ++violations;
  violations += bad_exits;
  std::printf("result: %s (%d violation%s)\n", violations == 0 ? "PASS" : "FAIL", violations,
              violations == 1 ? "" : "s");
  return violations == 0 ? 0 : 1;
}

// --- The check.

struct Verdict {
  bool found = false;
  bool terminal = false;
  JobState state = JobState::kPending;
  bool ok = false;              // in the state and shape its rule says
  bool exhausted = false;       // DLQ through worker losses on its last attempt (legal, reported)
  bool around_restart = false;  // a lease expiry put down to a Redis restart (reported)
  int attempts = 0;
  int recoveries = 0;
  int64_t duplicates = 0;
  std::vector<int64_t> lost_at_unix_ms;  // when each charged lease expiry was recorded
  std::string why;                       // for a job that is not ok
};

constexpr const char* kLeaseExpired = "lease expired";

Verdict CheckJob(const Plan& plan, const Job& job) {
  Verdict v;
  v.found = true;
  v.state = job.state;
  v.attempts = job.attempts;
  v.recoveries = job.recoveries;
  v.terminal = job.state == JobState::kCompleted || job.state == JobState::kFailed ||
               job.state == JobState::kCancelled;
  const int a = job.attempts;
  const int r = plan.max_retries;
  const int n = Needed(plan);
  auto fail = [&](std::string why) {
    v.ok = false;
    v.why = std::move(why);
    return v;
  };
  // The history: one entry per attempt 1..A-1 (plus A for a job that ended failed), each
  // either the handler's error or the lease expiry; complete while A <= the kept history (10).
  std::map<int, const JobError*> by_attempt;
  int expired = 0;
  for (const auto& e : job.errors) {
    if (by_attempt.count(e.attempt) != 0) {
      return fail("two history entries for attempt " + std::to_string(e.attempt));
    }
    by_attempt[e.attempt] = &e;
    if (e.message.rfind(kLeaseExpired, 0) == 0) {
      ++expired;
      v.lost_at_unix_ms.push_back(e.at_unix_ms);
    }
  }
  if (a > r + 1) return fail("attempts above max_retries + 1");
  if (expired != job.recoveries) {
    return fail("recoveries " + std::to_string(job.recoveries) + " but " + std::to_string(expired) +
                " lease expiries in the history");
  }
  const int last_with_entry = job.state == JobState::kFailed ? a : a - 1;
  for (int i = 1; i <= last_with_entry; ++i) {
    auto it = by_attempt.find(i);
    if (it == by_attempt.end()) return fail("no history entry for attempt " + std::to_string(i));
    bool lost = it->second->message.rfind(kLeaseExpired, 0) == 0;
    // From attempt n on the handler succeeds: such an attempt can only have been lost.
    if (!lost && (n == 0 || i < n)) {
      std::string want = "fail: attempt " + std::to_string(i);
      if (it->second->message.rfind(want, 0) != 0) {
        return fail("attempt " + std::to_string(i) + " failed with \"" + it->second->message +
                    "\"");
      }
    } else if (!lost) {
      return fail("attempt " + std::to_string(i) + " failed with \"" + it->second->message +
                  "\" where the handler succeeds");
    }
  }
  if (by_attempt.size() != static_cast<size_t>(last_with_entry)) {
    return fail("history has entries beyond attempt " + std::to_string(last_with_entry));
  }
  if (n > 0) {
    if (job.state == JobState::kCompleted) {
      if (a < n)
        return fail("completed after " + std::to_string(a) + " attempts, needs " +
                    std::to_string(n));
      std::string want = ExpectedResult(plan, a);
      if (job.result != want) {
        return fail("result \"" + job.result.substr(0, 80) + "\" (" +
                    std::to_string(job.result.size()) + " bytes), expected \"" +
                    want.substr(0, 80) + "\" (" + std::to_string(want.size()) + " bytes)");
      }
      v.duplicates = a - n;
      v.ok = true;
      return v;
    }
    if (job.state == JobState::kFailed && a == r + 1 && n <= r + 1) {
      // Attempts n..r+1 were all lost (checked above): the DLQ is SPEC §3's answer.
      v.duplicates = a - n;
      v.exhausted = true;
      v.ok = true;
      return v;
    }
    return fail(std::string("state ") + std::string(JobStateName(job.state)) +
                ", expected completed");
  }
  if (job.state != JobState::kFailed) {
    return fail(std::string("state ") + std::string(JobStateName(job.state)) + ", expected failed");
  }
  if (a != r + 1)
    return fail("failed after " + std::to_string(a) + " attempts, expected " +
                std::to_string(r + 1));
  v.ok = true;
  return v;
}

const Fault* Soak::CauseOf(int64_t at_unix_ms) const {
  const int64_t lease = flags_.lease_timeout.count();
  const int64_t sweep = std::clamp<int64_t>(lease / 2, 50, 5000);  // as `bananas scheduler`
  const Fault* cause = nullptr;
  for (const auto& f : faults_) {
    // A killed holder heartbeat at most a third of a lease before it died: its lease runs out
    // between two thirds of a lease and a lease after the kill (half a lease allows for a late
    // heartbeat), and the next sweep takes it. A restart can make a lease run out while Redis
    // is down, and the sweep takes it once Redis is back.
    int64_t earliest = f.kind == FaultKind::kKill ? f.at_unix_ms + lease / 2 : f.at_unix_ms;
    int64_t latest = f.until_unix_ms + lease + sweep + 1000;
    if (at_unix_ms >= earliest && at_unix_ms <= latest &&
        (cause == nullptr || f.at_unix_ms > cause->at_unix_ms)) {
      cause = &f;
    }
  }
  return cause;
}

std::string Soak::Explain(int64_t at_unix_ms) const {
  const Fault* f = CauseOf(at_unix_ms);
  if (f == nullptr) return "(no fault just before)";
  std::string after = std::to_string(at_unix_ms - f->at_unix_ms) + "ms after ";
  if (f->kind == FaultKind::kKill) {
    return "(" + after + "kill #" + std::to_string(f->number) + " of worker" +
           std::to_string(f->victim_slot) + ", pid " + std::to_string(f->victim_pid) + ")";
  }
  return "(" + after + "Redis restart #" + std::to_string(f->number) + ", back after " +
         std::to_string(f->until_unix_ms - f->at_unix_ms) + "ms)";
}

std::string Soak::Describe(const std::string& id, const Plan& plan, const Job& job) const {
  std::string s = id + " " + kKindNames[static_cast<int>(plan.kind)] +
                  " payload=" + plan.payload.substr(0, 40) +
                  " max_retries=" + std::to_string(plan.max_retries) +
                  " state=" + std::string(JobStateName(job.state)) +
                  " attempts=" + std::to_string(job.attempts) +
                  " recoveries=" + std::to_string(job.recoveries) + " error=\"" + job.error + "\"";
  for (const auto& e : job.errors) {
    s += "\n      attempt " + std::to_string(e.attempt) + " at " + std::to_string(e.at_unix_ms) +
         ": " + e.message;
    if (e.message.rfind(kLeaseExpired, 0) == 0) s += " " + Explain(e.at_unix_ms);
  }
  return s;
}

int Soak::Check(double run_seconds, bool wait) {
  const size_t n = ids_.size();
  std::vector<Verdict> verdicts(n);
  std::vector<std::string> details(n);
  // Jobs read in parallel, one Client per thread (a Client serialises its calls).
  const int threads = 4;
  std::atomic<size_t> next{0};
  const auto wait_until = SteadyClock::now() + std::chrono::minutes(1);
  auto read = [&] {
    ClientOptions co;
    co.redis_url = server_->url();
    auto client = Client::Connect(co);
    if (!client.ok()) {
      std::fprintf(stderr, "chaos_soak: %s\n", client.status().ToString().c_str());
      return;  // its share of the jobs reads as lost, with no reason: a failed check
    }
    // NotFound is an answer; any other error (a reconnect) is asked again.
    auto get = [&](const std::string& id) {
      Result<Job> job = (*client)->Get(id);
      for (int retry = 0; retry < 50 && !job.ok() && !job.status().IsNotFound(); ++retry) {
        std::this_thread::sleep_for(milliseconds(100));
        job = (*client)->Get(id);
      }
      return job;
    };
    for (size_t i = next++; i < n; i = next++) {
      Result<Job> job = get(ids_[i]);
      // A job not terminal yet (a retry being promoted as the counts were read) may finish
      // within a minute of the start of the check, if the run ended normally.
      while (wait && SteadyClock::now() < wait_until && job.ok() &&
             !(job->state == JobState::kCompleted || job->state == JobState::kFailed ||
               job->state == JobState::kCancelled)) {
        std::this_thread::sleep_for(milliseconds(100));
        job = get(ids_[i]);
      }
      if (!job.ok()) {
        verdicts[i].why = job.status().ToString();
        continue;
      }
      verdicts[i] = CheckJob(plans_[i], *job);
      // Described: jobs that break their rule, went to the DLQ through worker losses, or lost
      // a lease around a Redis restart (few; they show what a restart costs).
      bool around_restart = false;
      for (int64_t at : verdicts[i].lost_at_unix_ms) {
        const Fault* f = CauseOf(at);
        around_restart |= f != nullptr && f->kind == FaultKind::kRedisRestart;
      }
      verdicts[i].around_restart = around_restart;
      if (!verdicts[i].ok || verdicts[i].exhausted || around_restart) {
        details[i] = Describe(ids_[i], plans_[i], *job);
      }
    }
  };
  auto check_start = SteadyClock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(read);
  for (auto& t : pool) t.join();
  double check_seconds = SecondsSince(check_start);

  int64_t lost = static_cast<int64_t>(plans_.size() - n);  // never even submitted
  int64_t not_terminal = 0, wrong = 0, exhausted = 0, duplicates = 0, recoveries = 0;
  int64_t attempts = 0, completed = 0, dead = 0;
  std::array<int64_t, kKinds> per_kind{};
  std::array<int64_t, kKinds> dup_per_kind{};
  std::vector<std::string> bad;
  for (size_t i = 0; i < n; ++i) {
    const Verdict& v = verdicts[i];
    const Plan& p = plans_[i];
    ++per_kind[static_cast<int>(p.kind)];
    if (!v.found) {
      ++lost;
      bad.push_back("LOST " + ids_[i] + " " + kKindNames[static_cast<int>(p.kind)] + ": " + v.why);
      continue;
    }
    attempts += v.attempts;
    recoveries += v.recoveries;
    if (v.state == JobState::kCompleted) ++completed;
    if (v.state == JobState::kFailed) ++dead;
    duplicates += v.duplicates;
    dup_per_kind[static_cast<int>(p.kind)] += v.duplicates;
    if (!v.terminal) {
      ++not_terminal;
      bad.push_back("NOT TERMINAL " + details[i]);
    } else if (!v.ok) {
      ++wrong;
      bad.push_back("WRONG (" + v.why + ") " + details[i]);
    }
    if (v.exhausted) {
      ++exhausted;
      std::printf("exhausted by worker losses: %s\n", details[i].c_str());
    } else if (v.ok && v.around_restart) {
      std::printf("lease lost around a Redis restart: %s\n", details[i].c_str());
    }
  }
  // Put each recovery down to the fault it can follow from (CauseOf).
  int64_t after_kill = 0, after_restart = 0, after_nothing = 0;
  for (const auto& v : verdicts) {
    for (int64_t at : v.lost_at_unix_ms) {
      const Fault* cause = CauseOf(at);
      if (cause == nullptr) {
        ++after_nothing;
      } else if (cause->kind == FaultKind::kKill) {
        ++after_kill;
      } else {
        ++after_restart;
      }
    }
  }
  int64_t bound_kills = 0, bound_restarts = 0, kills = 0, restarts = 0, victim_running = 0;
  int64_t max_down_ms = 0, sum_down_ms = 0;
  for (const auto& f : faults_) {
    if (f.kind == FaultKind::kKill) {
      ++kills;
      bound_kills += f.in_flight;
      victim_running += f.victim_running;
    } else {
      ++restarts;
      bound_restarts += f.in_flight;
      max_down_ms = std::max(max_down_ms, f.until_unix_ms - f.at_unix_ms);
      sum_down_ms += f.until_unix_ms - f.at_unix_ms;
    }
  }

  std::printf("\n=== chaos_soak report ===\n");
  std::printf("seed:                %" PRIu64 "\n", flags_.seed);
  std::printf("jobs:                %zu submitted of %" PRId64 " (%" PRId64
              " batch retries, %" PRId64 " ids returned again by unique key)\n",
              n, flags_.jobs, submit_retries_, resubmitted_duplicates_);
  std::printf("kinds:              ");
  for (int k = 0; k < kKinds; ++k) std::printf(" %s %" PRId64, kKindNames[k], per_kind[k]);
  std::printf("\n");
  std::printf("workers:             %d x WORKER_CONCURRENCY %d, LEASE_TIMEOUT %" PRId64 "ms\n",
              flags_.workers, flags_.concurrency,
              static_cast<int64_t>(flags_.lease_timeout.count()));
  std::printf("kills:               %" PRId64 " SIGKILLs (victims running %" PRId64
              " jobs at their last heartbeat, %" PRId64 " leases held in all)\n",
              kills, victim_running, bound_kills);
  std::printf("redis restarts:      %" PRId64 " (%s; down %" PRId64 "ms max, %" PRId64
              "ms in all; %" PRId64 " leases held in all)\n",
              restarts, flags_.redis_kill ? "SIGKILL" : "SIGTERM", max_down_ms, sum_down_ms,
              bound_restarts);
  std::printf("duration:            %.1fs to the last terminal job; check %.1fs\n", run_seconds,
              check_seconds);
  std::printf("throughput:          %.0f jobs/s\n", n / run_seconds);
  std::printf("outcomes:            %" PRId64 " completed, %" PRId64 " failed (dead)\n", completed,
              dead);
  std::printf("attempts:            %" PRId64 " in all\n", attempts);
  std::printf("recoveries:          %" PRId64 " charged lease expiries: %" PRId64
              " after a kill, %" PRId64 " after a Redis restart, %" PRId64 " after no fault\n",
              recoveries, after_kill, after_restart, after_nothing);
  std::printf("duplicates:          %" PRId64 " runs beyond what handlers needed (", duplicates);
  for (int k = 0; k < kKinds; ++k)
    std::printf("%s%s %" PRId64, k ? ", " : "", kKindNames[k], dup_per_kind[k]);
  std::printf(")\n");
  std::printf("in-flight bound:     %" PRId64 " (leases held at kills %" PRId64
              " + at Redis restarts %" PRId64 ")\n",
              bound_kills + bound_restarts, bound_kills, bound_restarts);
  std::printf("exhausted:           %" PRId64
              " (DLQ after losing the last attempt with its worker)\n",
              exhausted);
  std::printf("lost:                %" PRId64 "\n", lost);
  std::printf("not terminal:        %" PRId64 "\n", not_terminal);
  std::printf("wrong state:         %" PRId64 "\n", wrong);

  int violations = 0;
  size_t shown = 0;
  for (const auto& b : bad) {
    if (shown++ < 50) std::printf("VIOLATION: %s\n", b.c_str());
  }
  if (bad.size() > 50) std::printf("... and %zu more\n", bad.size() - 50);
  violations += static_cast<int>(lost + not_terminal + wrong);
  if (duplicates > bound_kills + bound_restarts) {
    std::printf("VIOLATION: %" PRId64 " duplicates exceed the in-flight bound %" PRId64 "\n",
                duplicates, bound_kills + bound_restarts);
    ++violations;
  }
  if (after_nothing > 0) {
    // Not a broken guarantee (a heartbeat later than the lease is a lost worker to the
    // scheduler), but no fault explains it: a worker starved of CPU for a lease period.
    std::printf("NOTE: %" PRId64 " lease expiries followed no fault (a stalled worker?)\n",
                after_nothing);
  }
  return violations;
}

}  // namespace
}  // namespace bananas::testing

int main(int argc, char** argv) {
  auto flags = bananas::testing::ParseFlags(argc, argv);
  if (!flags) return 2;
  ::signal(SIGPIPE, SIG_IGN);
  bananas::testing::Soak soak(std::move(*flags));
  return soak.Run();
}
