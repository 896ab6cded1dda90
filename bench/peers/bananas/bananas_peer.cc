// bananas_peer: Bananas in the peer benchmark harness (../shared/bench/peers/README.md has
// the contract; `adapter` in this directory calls this program). Client and worker sides use
// only the public library (Client::Submit/SubmitBatch, Worker with one registered handler),
// so the harness measures what a user's program gets.
//
//   bananas_peer info      BENCH {"label","version","config"}
//   bananas_peer enqueue   N jobs, MODE=single (Client::Submit, each awaited) or bulk
//                          (Client::SubmitBatch in chunks of BULK_CHUNK); timed after connecting
//   bananas_peer latency   RATE*DURATION jobs, one at a time, paced at RATE/s, each carrying
//                          {"t": <epoch seconds>} read just before the Submit call
//   bananas_peer worker    one Worker until SIGTERM/SIGINT; its no-op handler does the
//                          harness's progress protocol (below)
//
// Progress protocol: the handler counts in memory (count, first and last start, and
// now - t in ms for jobs that carry t), wall clock (CLOCK_REALTIME, µs); a background thread
// writes, every 10 ms and only when something changed, in one pipelined round trip:
//   HSET bench:progress <host:pid> "<count> <first> <last>"   RPUSH bench:lat <ms>...
//
// Environment: REDIS_PORT (6390), N, MODE, BULK_CHUNK (1000), RATE, DURATION, and for the
// worker BANANAS_PEER_CONCURRENCY (32) and BANANAS_PEER_FETCH_BATCH (32).
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bananas/client.h"
#include "bananas/worker.h"
#include "redis/connection.h"

namespace bananas::peer {
namespace {

constexpr const char* kQueue = "default";
constexpr const char* kJobName = "noop";

std::string Env(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

double EnvNumber(const char* name, const char* fallback) {
  std::string text = Env(name, fallback);
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !(value >= 0)) {
    std::fprintf(stderr, "bananas_peer: %s must be a number >= 0, got \"%s\"\n", name,
                 text.c_str());
    std::exit(2);
  }
  return value;
}

std::string RedisUrl() { return "redis://127.0.0.1:" + Env("REDIS_PORT", "6390") + "/0"; }
int Concurrency() { return static_cast<int>(EnvNumber("BANANAS_PEER_CONCURRENCY", "32")); }
int FetchBatch() { return static_cast<int>(EnvNumber("BANANAS_PEER_FETCH_BATCH", "32")); }
int Prefetch() { return static_cast<int>(EnvNumber("BANANAS_PEER_PREFETCH", "32")); }

// Wall-clock seconds, sub-microsecond resolution: the harness's `now` and `t`.
double NowEpochSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

[[noreturn]] void Die(const std::string& what, const Status& status) {
  std::fprintf(stderr, "bananas_peer: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

void Bench(const std::string& json) {
  std::printf("BENCH %s\n", json.c_str());
  std::fflush(stdout);
}

std::unique_ptr<Client> ConnectClient() {
  ClientOptions options;
  options.redis_url = RedisUrl();
  auto client = Client::Connect(options);
  if (!client) Die("connect", client.status());
  // Connects and loads the enqueue script before the clock starts, as the other peers'
  // clients do before their first timed call. The job goes to a queue no worker serves.
  JobSpec warm;
  warm.name = kJobName;
  warm.queue = "peer-warmup";
  auto submitted = (*client)->Submit(warm);
  if (!submitted) Die("warm-up submit", submitted.status());
  return std::move(*client);
}

JobSpec NoopJob(std::string payload) {
  JobSpec spec;
  spec.name = kJobName;
  spec.queue = kQueue;
  spec.payload = std::move(payload);
  return spec;
}

int Info() {
#if defined(__clang__)
  const std::string compiler = std::string("clang ") + __clang_version__;
#else
  const std::string compiler = std::string("g++ ") + __VERSION__;
#endif
  const std::string version = std::string("bananas ") + BANANAS_VERSION + " (C++20, " + compiler +
                              "; Boost.Asio + hiredis Redis client; jemalloc)";
  const std::string config = "1 process, 1 Worker, concurrency " + std::to_string(Concurrency()) +
                             ", fetch batch " + std::to_string(FetchBatch()) +
                             ", prefetch " + std::to_string(Prefetch()) +
                             ", acks batched per queue, results kept 24 h (library defaults)";
  Bench(R"({"label":"bananas","version":")" + version + R"(","config":")" + config + R"("})");
  return 0;
}

int Enqueue() {
  const auto n = static_cast<int64_t>(EnvNumber("N", "20000"));
  const std::string mode = Env("MODE", "single");
  const auto chunk = std::max<int64_t>(1, static_cast<int64_t>(EnvNumber("BULK_CHUNK", "1000")));
  if (mode != "single" && mode != "bulk") {
    std::fprintf(stderr, "bananas_peer: MODE must be single or bulk, got \"%s\"\n", mode.c_str());
    return 2;
  }
  auto client = ConnectClient();
  const JobSpec spec = NoopJob("{}");
  std::string api;
  auto start = std::chrono::steady_clock::now();
  if (mode == "single") {
    for (int64_t i = 0; i < n; ++i) {
      auto submitted = client->Submit(spec);
      if (!submitted) Die("submit", submitted.status());
    }
    api = "Client::Submit (one at a time)";
  } else {
    for (int64_t done = 0; done < n;) {
      int64_t k = std::min(chunk, n - done);
      auto submitted = client->SubmitBatch(std::vector<JobSpec>(static_cast<size_t>(k), spec));
      if (!submitted) Die("submit batch", submitted.status());
      done += k;
    }
    api = "Client::SubmitBatch (chunks of " + std::to_string(chunk) + ")";
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char line[256];
  std::snprintf(line, sizeof line,
                R"({"phase":"enqueue","mode":"%s","n":%lld,"seconds":%.6f,"api":"%s"})",
                mode.c_str(), static_cast<long long>(n), seconds, api.c_str());
  Bench(line);
  return 0;
}

int Latency() {
  const double rate = std::max(EnvNumber("RATE", "200"), 1e-3);
  const double duration = EnvNumber("DURATION", "10");
  const auto n = static_cast<int64_t>(std::floor(rate * duration));
  auto client = ConnectClient();
  const auto interval = std::chrono::duration<double>(1.0 / rate);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < n; ++i) {
    std::this_thread::sleep_until(
        start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(interval * i));
    char payload[64];
    std::snprintf(payload, sizeof payload, R"({"t":%.6f})", NowEpochSeconds());
    auto submitted = client->Submit(NoopJob(payload));
    if (!submitted) Die("submit", submitted.status());
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char line[128];
  std::snprintf(line, sizeof line, R"({"phase":"latency","n":%lld,"seconds":%.6f})",
                static_cast<long long>(n), seconds);
  Bench(line);
  return 0;
}

// The in-memory side of the progress protocol. Thread-safe.
class Progress {
 public:
  void Record(const std::string& payload) {
    const double now = NowEpochSeconds();
    double t = 0;
    const bool has_t = ParseT(payload, &t);
    std::lock_guard<std::mutex> lock(mu_);
    if (count_ == 0) first_ = now;
    ++count_;
    last_ = now;
    if (has_t) latencies_ms_.push_back((now - t) * 1000.0);
    dirty_ = true;
  }

  // Writes what changed since the last call; one pipelined round trip, or none.
  void Flush(redis::Connection& connection, const std::string& field) {
    char record[96];
    std::vector<double> latencies;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!dirty_) return;
      std::snprintf(record, sizeof record, "%lld %.6f %.6f", static_cast<long long>(count_), first_,
                    last_);
      latencies.swap(latencies_ms_);
      dirty_ = false;
    }
    redis::Pipeline pipeline;
    pipeline.Add(redis::Command("HSET").Arg("bench:progress").Arg(field).Arg(record));
    if (!latencies.empty()) {
      redis::Command push("RPUSH");
      push.Arg("bench:lat");
      char ms[32];
      for (double latency : latencies) {
        std::snprintf(ms, sizeof ms, "%.3f", latency);
        push.Arg(ms);
      }
      pipeline.Add(push);
    }
    auto replies = connection.Run(pipeline);
    if (!replies)
      std::fprintf(stderr, "bananas_peer: progress: %s\n", replies.status().ToString().c_str());
  }

 private:
  // {"t": 1732712345.123456} -> t. False when the payload carries no t.
  static bool ParseT(const std::string& payload, double* t) {
    size_t key = payload.find("\"t\"");
    if (key == std::string::npos) return false;
    size_t colon = payload.find(':', key);
    if (colon == std::string::npos) return false;
    char* end = nullptr;
    *t = std::strtod(payload.c_str() + colon + 1, &end);
    return end != payload.c_str() + colon + 1;
  }

  std::mutex mu_;
  int64_t count_ = 0;                 // Guarded by mu_.
  double first_ = 0;                  // Guarded by mu_.
  double last_ = 0;                   // Guarded by mu_.
  std::vector<double> latencies_ms_;  // Guarded by mu_. Not yet written.
  bool dirty_ = false;                // Guarded by mu_.
};

int RunWorker() {
  // Before any thread: SIGTERM/SIGINT only through sigwait() below, SIGPIPE an error return.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  Progress progress;
  auto redis_options = redis::Options::FromUrl(RedisUrl());
  if (!redis_options) Die("REDIS_PORT", redis_options.status());
  auto connection = redis::Connection::Open(*redis_options);
  if (!connection) Die("connect", connection.status());
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  const std::string field = std::string(host) + ":" + std::to_string(::getpid());

  std::mutex flusher_mu;
  std::condition_variable flusher_cv;
  bool stop_flusher = false;
  std::thread flusher([&] {
    std::unique_lock<std::mutex> lock(flusher_mu);
    while (
        !flusher_cv.wait_for(lock, std::chrono::milliseconds(10), [&] { return stop_flusher; })) {
      lock.unlock();
      progress.Flush(**connection, field);
      lock.lock();
    }
  });

  WorkerOptions options;
  options.redis_url = RedisUrl();
  options.queues = {kQueue};
  options.concurrency = Concurrency();
  options.fetch_batch = FetchBatch();
  options.prefetch = Prefetch();
  options.name = "bananas-peer";
  auto worker = Worker::Create(options);
  if (!worker) Die("worker", worker.status());
  Status registered = (*worker)->Register(kJobName, [&progress](JobContext& context) {
    progress.Record(context.payload());
    return Result<std::string>(std::string());
  });
  if (!registered.ok()) Die("register", registered);
  Status started = (*worker)->Start();
  if (!started.ok()) Die("start", started);
  std::fprintf(stderr, "bananas_peer worker: %s, concurrency %d, fetch batch %d, prefetch %d, queue %s\n",
               (*worker)->id().c_str(), options.concurrency, options.fetch_batch, options.prefetch,
               kQueue);

  int received = 0;
  ::sigwait(&signals, &received);
  (*worker)->Stop();
  (*worker)->Wait();
  {
    std::lock_guard<std::mutex> lock(flusher_mu);
    stop_flusher = true;
  }
  flusher_cv.notify_all();
  flusher.join();
  progress.Flush(**connection, field);
  WorkerStats stats = (*worker)->stats();
  std::fprintf(stderr, "bananas_peer worker: stopped, %lld succeeded, %lld failed\n",
               static_cast<long long>(stats.succeeded), static_cast<long long>(stats.failed));
  return 0;
}

}  // namespace
}  // namespace bananas::peer

int main(int argc, char** argv) {
  using namespace bananas::peer;
  std::string command = argc > 1 ? argv[1] : "";
  if (command == "info") return Info();
  if (command == "enqueue") return Enqueue();
  if (command == "latency") return Latency();
  if (command == "worker") return RunWorker();
  std::fprintf(stderr, "usage: bananas_peer info|enqueue|latency|worker\n");
  return 2;
}
