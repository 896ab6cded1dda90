// pprof_overhead: what always-on heap sampling and an in-progress CPU profile cost a
// CPU-bound service. Plain program (not Google Benchmark): each measurement needs the
// profiler on or off around the timed region, and heap sampling is fixed at process start.
//
//   pprof_overhead [--seconds S] [--runs R] [--threads T]
//
// Overheads are the median, over R adjacent pairs, of each pair's difference, with the
// interquartile range as the noise to read them against.
//
// 1. CPU profiling at 100 Hz. T threads run a CPU-bound job loop (hashing 4 KiB payloads
//    built in fresh std::strings) for S seconds, alternately with no profile and while
//    /debug/pprof/profile of an in-process AdminServer collects one; R pairs; reports the
//    median throughput of each, the difference, and how long the request took beyond its
//    `seconds` (symbolizing, encoding and gzipping the profile).
// 2. Heap sampling (jemalloc prof:true, lg_prof_sample:19, prof_accum:true, i.e. this
//    binary's built-in malloc_conf). The same job loop, and a malloc/free-only loop (the
//    worst case: 16..4096-byte blocks, 1024 live), each timed in this process and in a copy
//    of it re-executed with MALLOC_CONF=prof:false; R alternating pairs; medians.
//
// Throughput is counted per CPU-second of the worker threads (CLOCK_THREAD_CPUTIME_ID), not
// per wall-clock second: the profiler's costs (signal delivery, unwinding, sampling in
// malloc) are charged to the thread that pays them, while time other processes take from
// this shared machine is not. Compare the columns of one run, not runs on different days.
// Numbers and the command are in docs/PROFILING.md.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "obs/admin_server.h"

namespace bananas::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<uint64_t> sink{0};

// One "job": build a payload in a fresh string, hash it. ~3 us, 2 allocations.
__attribute__((noinline)) uint64_t RunJob(uint64_t seed) {
  std::string payload;
  payload.reserve(4096);
  for (int i = 0; i < 64; ++i)
    payload.append(std::to_string(seed * 2654435761u + i)).push_back(',');
  std::string copy = payload;
  uint64_t h = 1469598103934665603ull;
  for (int round = 0; round < 4; ++round) {
    for (char c : copy) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  return h;
}

// malloc/free pairs of random 16..4096 bytes with 1024 blocks live (pprof-design.md Q6).
__attribute__((noinline)) uint64_t RunAllocations(std::mt19937_64& rng, std::vector<void*>& live,
                                                  int count) {
  uint64_t touched = 0;
  for (int i = 0; i < count; ++i) {
    size_t slot = rng() % live.size();
    std::free(live[slot]);
    size_t size = 16 + rng() % 4081;
    live[slot] = std::malloc(size);
    static_cast<char*>(live[slot])[0] = 1;
    touched += size;
  }
  return touched;
}

enum class Workload { kJobs, kMalloc };

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Operations per CPU-second of the workers, running `threads` of them for `seconds`.
double Measure(Workload workload, int threads, double seconds) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> operations{0};
  std::atomic<uint64_t> cpu_nanoseconds{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      uint64_t done = 0;
      double cpu_start = ThreadCpuSeconds();
      std::mt19937_64 rng(t + 1);
      std::vector<void*> live(1024);
      for (void*& p : live) p = std::malloc(64);
      while (!stop.load(std::memory_order_relaxed)) {
        if (workload == Workload::kJobs) {
          for (int i = 0; i < 16; ++i) sink += RunJob(done + i);
          done += 16;
        } else {
          sink += RunAllocations(rng, live, 1024);
          done += 1024;
        }
      }
      cpu_nanoseconds += static_cast<uint64_t>((ThreadCpuSeconds() - cpu_start) * 1e9);
      for (void* p : live) std::free(p);
      operations += done;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (std::thread& w : workers) w.join();
  return static_cast<double>(operations.load()) / (static_cast<double>(cpu_nanoseconds) * 1e-9);
}

// One HTTP/1.0 GET to 127.0.0.1:port; the whole response.
std::string HttpGet(uint16_t port, const std::string& target) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string request = "GET " + target + " HTTP/1.0\r\n\r\n";
    send(fd, request.data(), request.size(), 0);
    char buffer[65536];
    ssize_t n;
    while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) response.append(buffer, n);
  }
  close(fd);
  return response;
}

bool CpuProfileRunning(uint16_t port) {
  return HttpGet(port, "/debug/pprof/").find("<tr><td>1</td><td><a href='profile?debug=1'>") !=
         std::string::npos;
}

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  double at = q * static_cast<double>(v.size() - 1);
  size_t low = static_cast<size_t>(at);
  size_t high = std::min(low + 1, v.size() - 1);
  return v[low] + (v[high] - v[low]) * (at - static_cast<double>(low));
}

double Median(const std::vector<double>& v) { return Quantile(v, 0.5); }

// Overhead of each adjacent (without, with) pair in percent; comparing neighbours cancels
// the slow drift of a shared machine's load. Prints "median% (IQR a%..b%)".
std::string PairedOverhead(const std::vector<double>& without, const std::vector<double>& with) {
  std::vector<double> pct;
  for (size_t i = 0; i < without.size() && i < with.size(); ++i) {
    pct.push_back((without[i] - with[i]) / without[i] * 100);
  }
  char out[96];
  std::snprintf(out, sizeof out, "%+.2f%% (IQR %+.2f%% .. %+.2f%%)", Median(pct),
                Quantile(pct, 0.25), Quantile(pct, 0.75));
  return out;
}

bool HeapSamplingOn() {
  using Mallctl = int (*)(const char*, void*, size_t*, void*, size_t);
  auto mallctl = reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"));
  if (mallctl == nullptr) return false;
  bool prof = false;
  size_t size = sizeof prof;
  return mallctl("opt.prof", &prof, &size, nullptr, 0) == 0 && prof;
}

// Runs this binary again with MALLOC_CONF=prof:false and `--child <workload>`; returns its
// ops/s.
double MeasureInChildWithoutSampling(const char* self, Workload workload, int threads,
                                     double seconds) {
  std::string command = std::string("MALLOC_CONF=prof:false '") + self + "' --child " +
                        (workload == Workload::kJobs ? "jobs" : "malloc") + " --threads " +
                        std::to_string(threads) + " --seconds " + std::to_string(seconds);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return 0;
  double ops = 0;
  if (std::fscanf(pipe, "%lf", &ops) != 1) ops = 0;
  pclose(pipe);
  return ops;
}

void ReportCpuProfiling(int threads, double seconds, int runs) {
  bananas::obs::AdminServer server;
  if (!server.Start("127.0.0.1", 0).ok()) {
    std::printf("CPU profiling: cannot start the admin listener\n");
    return;
  }
  const int profile_seconds = static_cast<int>(seconds) + 2;  // covers the measured window
  std::vector<double> off, on, extra_ms;
  size_t bytes = 0;
  for (int run = 0; run < runs; ++run) {
    off.push_back(Measure(Workload::kJobs, threads, seconds));
    Clock::time_point requested = Clock::now(), answered;
    std::thread client([&] {
      std::string response =
          HttpGet(server.port(), "/debug/pprof/profile?seconds=" + std::to_string(profile_seconds));
      answered = Clock::now();
      bytes = response.size();
    });
    while (!CpuProfileRunning(server.port())) std::this_thread::yield();
    on.push_back(Measure(Workload::kJobs, threads, seconds));
    client.join();
    extra_ms.push_back(std::chrono::duration<double, std::milli>(answered - requested).count() -
                       profile_seconds * 1000.0);
  }
  double base = Median(off), profiled = Median(on);
  std::printf("CPU profiling at 100 Hz, %d threads, %d x %.1fs pairs:\n", threads, runs, seconds);
  std::printf("  jobs per CPU-s without profile %10.0f   with profile %10.0f   overhead %s\n", base,
              profiled, PairedOverhead(off, on).c_str());
  std::printf(
      "  response %zu bytes, ready %.0f ms after the profile ended (median; first: %.0f ms)\n",
      bytes, Median(extra_ms), extra_ms.front());
}

void ReportHeapSampling(const char* self, int threads, double seconds, int runs) {
  if (!HeapSamplingOn()) {
    std::printf("Heap sampling: off in this process (no jemalloc, or MALLOC_CONF overrides it)\n");
    return;
  }
  for (Workload workload : {Workload::kJobs, Workload::kMalloc}) {
    std::vector<double> sampled, unsampled;
    for (int run = 0; run < runs; ++run) {
      unsampled.push_back(MeasureInChildWithoutSampling(self, workload, threads, seconds));
      sampled.push_back(Measure(workload, threads, seconds));
    }
    double base = Median(unsampled), with = Median(sampled);
    const char* name = workload == Workload::kJobs ? "jobs per CPU-s" : "pairs per CPU-s";
    std::printf("Heap sampling (jemalloc lg_prof_sample:19), %s, %d threads, %d x %.1fs pairs:\n",
                workload == Workload::kJobs ? "job loop" : "malloc/free only", threads, runs,
                seconds);
    std::printf("  %s prof:false %12.0f   prof:true %12.0f   overhead %s", name, base, with,
                PairedOverhead(unsampled, sampled).c_str());
    if (workload == Workload::kMalloc) {
      std::printf("   (%.1f vs %.1f ns per malloc+free)", 1e9 / base, 1e9 / with);
    }
    std::printf("\n");
  }
}

}  // namespace
}  // namespace bananas::bench

int main(int argc, char** argv) {
  using namespace bananas::bench;
  double seconds = 2;
  int runs = 5;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const char* child = nullptr;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atof(argv[i + 1]);
    if (std::strcmp(argv[i], "--runs") == 0) runs = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--threads") == 0) threads = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--child") == 0) child = argv[i + 1];
  }
  if (child != nullptr) {
    Workload w = std::strcmp(child, "jobs") == 0 ? Workload::kJobs : Workload::kMalloc;
    std::printf("%.0f\n", Measure(w, threads, seconds));
    return 0;
  }
  std::printf("pprof_overhead: heap sampling %s in this process\n",
              HeapSamplingOn() ? "on" : "off");
  ReportCpuProfiling(threads, seconds, runs);
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = '\0';
  ReportHeapSampling(self, threads, seconds, runs);
  return 0;
}
