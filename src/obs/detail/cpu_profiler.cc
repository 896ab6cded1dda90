#include "obs/detail/cpu_profiler.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "obs/detail/thread_state.h"
#include "obs/detail/threads.h"
#include "obs/detail/unwind.h"

namespace bananas::obs::detail {
namespace {

// 1024 slots of 656 bytes. The HTTP thread drains every 50 ms, during which 100 Hz per busy
// core produce 5 samples per core: the ring holds 200 cores' worth.
constexpr uint64_t kRingSlots = 1024;
constexpr auto kDrainInterval = std::chrono::milliseconds(50);

enum SlotState : uint32_t { kFree = 0, kWriting = 1, kReady = 2 };

struct RingSlot {
  std::atomic<uint32_t> state;
  int32_t tid;
  int32_t weight;
  int32_t depth;
  uint64_t pcs[kMaxFrames];
  char job_type[kLabelBytes];
  char queue[kLabelBytes];
};

// Shared with the handler. g_ring is set before g_active and cleared only after g_active is
// off and g_in_handler has drained to zero, so a handler never sees a dangling ring.
std::atomic<bool> g_busy{false};
std::atomic<bool> g_active{false};
std::atomic<RingSlot*> g_ring{nullptr};
std::atomic<uint64_t> g_next_slot{0};
std::atomic<uint64_t> g_dropped{0};
std::atomic<int> g_in_handler{0};

void RecordSample(RingSlot* ring, const siginfo_t* info, void* ucontext) {
  uint64_t start = g_next_slot.fetch_add(1, std::memory_order_relaxed);
  RingSlot* slot = nullptr;
  for (uint64_t probe = 0; probe < 8 && slot == nullptr; ++probe) {
    RingSlot& candidate = ring[(start + probe) % kRingSlots];
    uint32_t expected = kFree;
    if (candidate.state.compare_exchange_strong(expected, kWriting, std::memory_order_acquire)) {
      slot = &candidate;
    }
  }
  if (slot == nullptr) {
    g_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  slot->tid = CurrentThreadId();
  // Expiries that happened while this signal was pending were merged into it (P5).
  slot->weight = info != nullptr && info->si_code == SI_TIMER ? 1 + info->si_overrun : 1;
  slot->depth = CaptureSignalStack(ucontext, slot->pcs, kMaxFrames);
  CopyLabels(CurrentThreadState(), slot->job_type, slot->queue);
  slot->state.store(kReady, std::memory_order_release);
}

void OnSigprof(int /*signo*/, siginfo_t* info, void* ucontext) {
  int saved_errno = errno;
  g_in_handler.fetch_add(1, std::memory_order_acq_rel);
  if (g_active.load(std::memory_order_acquire)) {
    if (RingSlot* ring = g_ring.load(std::memory_order_acquire)) RecordSample(ring, info, ucontext);
  }
  g_in_handler.fetch_sub(1, std::memory_order_acq_rel);
  errno = saved_errno;
}

Status InstallHandlerOnce() {
  static std::once_flag once;
  static int install_errno = 0;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_sigaction = &OnSigprof;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGPROF, &action, nullptr) != 0) install_errno = errno;
  });
  if (install_errno != 0) {
    return Status::Internal(std::string("sigaction(SIGPROF): ") + std::strerror(install_errno));
  }
  return Status::Ok();
}

// The kernel's per-thread CPU clock id (CPUCLOCK_SCHED | CPUCLOCK_PERTHREAD), the same value
// pthread_getcpuclockid returns, but for any tid of this process.
clockid_t ThreadCpuClock(pid_t tid) {
  return static_cast<clockid_t>((~static_cast<unsigned>(tid) << 3) | 6u);
}

using SampleKey = std::tuple<std::vector<uint64_t>, std::string, std::string, std::string>;

class Session {
 public:
  Session(RingSlot* ring, std::chrono::nanoseconds period) : ring_(ring), period_(period) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() { DeleteAllTimers(); }

  // Arms a timer on every thread that has none yet; forgets threads that exited.
  void Rescan() {
    std::vector<pid_t> tids = ListThreads();
    std::unordered_set<pid_t> alive(tids.begin(), tids.end());
    for (auto it = timers_.begin(); it != timers_.end();) {
      if (alive.count(it->first) == 0) {
        timer_delete(it->second);
        it = timers_.erase(it);
      } else {
        ++it;
      }
    }
    for (pid_t tid : tids) {
      if (timers_.count(tid) != 0) continue;
      // Its signal would stay pending forever; say so in the profile instead.
      if (ThreadBlocksSignal(tid, SIGPROF)) {
        blocked_.emplace(tid, ThreadName(tid));
        continue;
      }
      blocked_.erase(tid);
      struct sigevent event {};
      event.sigev_notify = SIGEV_THREAD_ID;
      event.sigev_signo = SIGPROF;
      event._sigev_un._tid = tid;
      timer_t timer;
      if (timer_create(ThreadCpuClock(tid), &event, &timer) != 0) continue;  // thread gone
      // A random first expiry keeps threads from being sampled in lockstep.
      auto first = std::chrono::nanoseconds(1 + rng_() % static_cast<uint64_t>(period_.count()));
      struct itimerspec spec {};
      spec.it_interval.tv_sec = static_cast<time_t>(period_.count() / 1'000'000'000);
      spec.it_interval.tv_nsec = static_cast<long>(period_.count() % 1'000'000'000);
      spec.it_value.tv_sec = static_cast<time_t>(first.count() / 1'000'000'000);
      spec.it_value.tv_nsec = static_cast<long>(first.count() % 1'000'000'000);
      if (timer_settime(timer, 0, &spec, nullptr) != 0) {
        timer_delete(timer);
        continue;
      }
      timers_.emplace(tid, timer);
      names_.emplace(tid, ThreadName(tid));
    }
  }

  // Moves ready samples into counts(); returns the PCs not seen before in this session.
  std::vector<uint64_t> Drain() {
    std::vector<uint64_t> fresh;
    for (uint64_t i = 0; i < kRingSlots; ++i) {
      RingSlot& slot = ring_[i];
      if (slot.state.load(std::memory_order_acquire) != kReady) continue;
      SampleKey key;
      std::get<0>(key).assign(slot.pcs, slot.pcs + slot.depth);
      for (int f = 0; f < slot.depth; ++f) {
        if (seen_pcs_.insert(slot.pcs[f]).second) fresh.push_back(slot.pcs[f]);
      }
      auto name = names_.find(slot.tid);
      std::get<1>(key) =
          name != names_.end() && !name->second.empty() ? name->second : std::to_string(slot.tid);
      std::get<2>(key) = slot.job_type;
      std::get<3>(key) = slot.queue;
      counts_[std::move(key)] += slot.weight;
      slot.state.store(kFree, std::memory_order_release);
    }
    return fresh;
  }

  void DeleteAllTimers() {
    for (auto& [tid, timer] : timers_) timer_delete(timer);
    timers_.clear();
  }

  const std::map<SampleKey, int64_t>& counts() const { return counts_; }
  // Threads never sampled because they block SIGPROF: tid -> name.
  const std::map<pid_t, std::string>& blocked() const { return blocked_; }

 private:
  RingSlot* ring_;
  std::chrono::nanoseconds period_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::unordered_map<pid_t, timer_t> timers_;
  std::unordered_map<pid_t, std::string> names_;
  std::map<SampleKey, int64_t> counts_;
  std::map<pid_t, std::string> blocked_;
  std::unordered_set<uint64_t> seen_pcs_;
};

// Releases the profiling slot and the ring on every exit path.
class Slot {
 public:
  ~Slot() {
    g_active.store(false, std::memory_order_release);
    if (ring_ != nullptr) {
      // Handlers that saw g_active before it dropped are still writing; they are short.
      while (g_in_handler.load(std::memory_order_acquire) != 0) std::this_thread::yield();
      g_ring.store(nullptr, std::memory_order_release);
      munmap(ring_, sizeof(RingSlot) * kRingSlots);
    }
    g_busy.store(false, std::memory_order_release);
  }
  RingSlot* ring_ = nullptr;
};

}  // namespace

bool CpuProfileInProgress() { return g_busy.load(std::memory_order_acquire); }

Result<Profile> CollectCpuProfile(std::chrono::nanoseconds duration, int hz,
                                  const std::atomic<bool>& stop, const NewPcsCallback& on_new_pcs) {
  if (hz <= 0 || hz > 1000) return Status::InvalidArgument("cpu profile: hz must be in 1..1000");
  if (g_busy.exchange(true, std::memory_order_acq_rel)) {
    return Status::FailedPrecondition("cpu profiling already in use");
  }
  Slot slot;
  Status installed = InstallHandlerOnce();
  if (!installed.ok()) return installed;
  WarmUpUnwinder();
  void* memory = mmap(nullptr, sizeof(RingSlot) * kRingSlots, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return Status::Internal("cpu profile: cannot map the sample ring");
  slot.ring_ = static_cast<RingSlot*>(memory);  // zero pages: every slot kFree
  g_dropped.store(0, std::memory_order_relaxed);
  g_ring.store(slot.ring_, std::memory_order_release);

  const auto period = std::chrono::nanoseconds(1'000'000'000 / hz);
  const auto wall_start = std::chrono::system_clock::now();
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + duration;
  Session session(slot.ring_, period);
  g_active.store(true, std::memory_order_release);
  session.Rescan();
  while (!stop.load(std::memory_order_acquire)) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(kDrainInterval, deadline - now));
    session.Rescan();
    std::vector<uint64_t> fresh = session.Drain();
    if (on_new_pcs && !fresh.empty()) on_new_pcs(fresh);
  }
  session.DeleteAllTimers();
  g_active.store(false, std::memory_order_release);
  while (g_in_handler.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  session.Drain();
  const auto elapsed = std::chrono::steady_clock::now() - start;

  Profile profile;
  profile.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}};
  profile.period_type = {"cpu", "nanoseconds"};
  profile.period = period.count();
  profile.time_nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(wall_start.time_since_epoch()).count();
  profile.duration_nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
  for (const auto& [key, count] : session.counts()) {
    Sample sample;
    sample.pcs = std::get<0>(key);
    sample.values = {count, count * period.count()};
    sample.labels.push_back({"thread", std::get<1>(key), 0, ""});
    if (!std::get<2>(key).empty()) sample.labels.push_back({"job_type", std::get<2>(key), 0, ""});
    if (!std::get<3>(key).empty()) sample.labels.push_back({"queue", std::get<3>(key), 0, ""});
    profile.samples.push_back(std::move(sample));
  }
  if (!session.blocked().empty()) {
    std::string comment = "not sampled, SIGPROF blocked:";
    for (const auto& [tid, name] : session.blocked()) {
      comment += " " + std::to_string(tid) + "(" + name + ")";
    }
    profile.comments.push_back(std::move(comment));
  }
  if (uint64_t dropped = g_dropped.load(std::memory_order_relaxed); dropped > 0) {
    profile.comments.push_back("dropped " + std::to_string(dropped) +
                               " samples: the sample ring was full");
  }
  return profile;
}

}  // namespace bananas::obs::detail
