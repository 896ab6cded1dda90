// pprof_test_service: a process that gives every /debug/pprof profile something to show.
//
// Threads (names as in `top -H` and in the profiles):
//   job-cpu    HashPayload in a loop, each "job" labelled job_type=cpu queue=default
//   spin       SpinUnlabeled, CPU without labels (what -tagfocus must filter out)
//   alloc      MakeResultBuffer: retains 16 KiB buffers (a slowly growing heap for -base
//              diffs) and churns short-lived strings (the allocs profile)
//   throw      ThrowAndCatch: exceptions thrown and caught, which allocate and unwind
//   lock-0..2  DequeueLocked: hold one ProfiledMutex for 1 ms each, so the others block
//   idle-0..1  IdleWait on a condition_variable_any over a ProfiledMutex
// The admin listener runs on 127.0.0.1:<port>; the port (0 = any) is the first argument.
// Prints "PORT <n>" once listening, then serves until its stdin closes, so the process
// never outlives the test that started it.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "obs/admin_server.h"
#include "obs/profiled_mutex.h"
#include "obs/profiling.h"

namespace bananas::pprofdemo {

std::atomic<bool> stop{false};
std::atomic<uint64_t> sink{0};

__attribute__((noinline)) uint64_t HashPayload(uint64_t seed, int rounds) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (int i = 0; i < rounds; ++i) {
    h ^= static_cast<uint64_t>(i);
    h *= 1099511628211ull;
    h ^= h >> 29;
  }
  return h;
}

__attribute__((noinline)) uint64_t SpinUnlabeled(uint64_t seed, int rounds) {
  uint64_t x = seed | 1;
  for (int i = 0; i < rounds; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

void RunLabeledJobs() {
  obs::RegisterThread("job-cpu");
  for (uint64_t job = 0; !stop.load(std::memory_order_relaxed); ++job) {
    obs::ScopedJobLabels labels("cpu", "default");
    sink.fetch_add(HashPayload(job, 2'000'000), std::memory_order_relaxed);
  }
}

void RunSpin() {
  obs::RegisterThread("spin");
  for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
    sink.fetch_add(SpinUnlabeled(i, 2'000'000), std::memory_order_relaxed);
  }
}

__attribute__((noinline)) std::unique_ptr<char[]> MakeResultBuffer(size_t size) {
  auto buffer = std::make_unique<char[]>(size);
  for (size_t i = 0; i < size; i += 4096) buffer[i] = static_cast<char>(i);
  return buffer;
}

__attribute__((noinline)) size_t ChurnStrings(int count) {
  size_t total = 0;
  for (int i = 0; i < count; ++i) {
    std::string s(200 + (i % 800), 'x');
    total += s.size();
  }
  return total;
}

void RunAllocations() {
  obs::RegisterThread("alloc");
  // Grows by ~3 MB/s up to 256 MiB: long enough for any test's before/after heap snapshots.
  constexpr size_t kBufferBytes = 16 * 1024;
  constexpr size_t kMaxRetained = 16 * 1024;
  std::deque<std::unique_ptr<char[]>> retained;
  while (!stop.load(std::memory_order_relaxed)) {
    retained.push_back(MakeResultBuffer(kBufferBytes));
    if (retained.size() > kMaxRetained) retained.pop_front();
    sink.fetch_add(ChurnStrings(200), std::memory_order_relaxed);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

__attribute__((noinline)) void ThrowParseError(int i) {
  throw std::runtime_error("bad payload " + std::to_string(i));
}

void ThrowAndCatch() {
  obs::RegisterThread("throw");
  for (int i = 0; !stop.load(std::memory_order_relaxed); ++i) {
    try {
      ThrowParseError(i);
    } catch (const std::runtime_error& e) {
      sink.fetch_add(static_cast<uint64_t>(e.what()[0]), std::memory_order_relaxed);
    }
    if (i % 64 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

obs::ProfiledMutex queue_mutex;

__attribute__((noinline)) void DequeueLocked() {
  std::lock_guard<obs::ProfiledMutex> lock(queue_mutex);
  std::this_thread::sleep_for(std::chrono::milliseconds(1));  // hold it: the others block
}

void RunLocker(int index) {
  obs::RegisterThread("lock-" + std::to_string(index));
  while (!stop.load(std::memory_order_relaxed)) DequeueLocked();
}

obs::ProfiledMutex idle_mutex;
std::condition_variable_any idle_cv;

__attribute__((noinline)) void IdleWait() {
  std::unique_lock<obs::ProfiledMutex> lock(idle_mutex);
  idle_cv.wait(lock, [] { return stop.load(); });
}

void RunIdle(int index) {
  obs::RegisterThread("idle-" + std::to_string(index));
  IdleWait();
}

}  // namespace bananas::pprofdemo

int main(int argc, char** argv) {
  using namespace bananas;
  uint16_t port = argc > 1 ? static_cast<uint16_t>(std::atoi(argv[1])) : 0;
  obs::RegisterThread("main");

  std::vector<std::thread> threads;
  threads.emplace_back(pprofdemo::RunLabeledJobs);
  threads.emplace_back(pprofdemo::RunSpin);
  threads.emplace_back(pprofdemo::RunAllocations);
  threads.emplace_back(pprofdemo::ThrowAndCatch);
  for (int i = 0; i < 3; ++i) threads.emplace_back(pprofdemo::RunLocker, i);
  for (int i = 0; i < 2; ++i) threads.emplace_back(pprofdemo::RunIdle, i);

  obs::AdminServer server;
  server.SetMetricsSource([] { return std::string("pprofdemo_up 1\n"); });
  Status started = server.Start("127.0.0.1", port);
  if (!started.ok()) {
    std::fprintf(stderr, "pprof_test_service: %s\n", started.ToString().c_str());
    pprofdemo::stop = true;
    pprofdemo::idle_cv.notify_all();
    for (std::thread& t : threads) t.join();
    return 1;
  }
  std::printf("PORT %u\n", static_cast<unsigned>(server.port()));
  std::fflush(stdout);

  char byte;
  for (;;) {  // until stdin closes; SIGURG from thread dumps may interrupt the read
    ssize_t n = read(STDIN_FILENO, &byte, 1);
    if (n == 0 || (n < 0 && errno != EINTR)) break;
  }
  server.Stop();
  pprofdemo::stop = true;
  { std::lock_guard<obs::ProfiledMutex> lock(pprofdemo::idle_mutex); }
  pprofdemo::idle_cv.notify_all();
  for (std::thread& t : threads) t.join();
  return 0;
}
