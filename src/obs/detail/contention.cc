#include "obs/detail/contention.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <regex>
#include <unordered_map>

#include "obs/detail/threads.h"
#include "obs/detail/unwind.h"
#include "obs/profiled_mutex.h"

namespace bananas::obs {
namespace detail {
namespace {

std::atomic<int> g_mutex_fraction{10};
std::atomic<int64_t> g_block_rate_ns{100'000};

struct StackHash {
  size_t operator()(const std::vector<uint64_t>& pcs) const noexcept {
    uint64_t h = 1469598103934665603ull;
    for (uint64_t pc : pcs) h = (h ^ pc) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};

class ContentionTable {
 public:
  void Add(std::vector<uint64_t> pcs, double count, double delay_ns) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = records_.find(pcs);
    if (it == records_.end()) {
      if (records_.size() >= kMaxContentionStacks) {
        ++dropped_;
        return;
      }
      it = records_.emplace(std::move(pcs), Counts{}).first;
    }
    it->second.count += count;
    it->second.delay_ns += delay_ns;
  }

  std::vector<ContentionRecord> Snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<ContentionRecord> out;
    out.reserve(records_.size());
    for (const auto& [pcs, counts] : records_) out.push_back({pcs, counts.count, counts.delay_ns});
    return out;
  }

  uint64_t dropped() {
    std::lock_guard<std::mutex> lock(mu_);
    return dropped_;
  }

 private:
  struct Counts {
    double count = 0;
    double delay_ns = 0;
  };
  std::mutex mu_;
  std::unordered_map<std::vector<uint64_t>, Counts, StackHash> records_;  // Guarded by mu_.
  uint64_t dropped_ = 0;                                                  // Guarded by mu_.
};

ContentionTable& Table(ContentionKind kind) {
  // Leaked on purpose: ProfiledMutexes in static objects may still unlock during exit.
  static ContentionTable* mutex_table = new ContentionTable;
  static ContentionTable* block_table = new ContentionTable;
  return kind == ContentionKind::kMutex ? *mutex_table : *block_table;
}

// xorshift64*: sampling decisions need speed, not quality.
uint64_t FastRandom() {
  thread_local uint64_t state = 0;
  if (state == 0) {
    state = static_cast<uint64_t>(CurrentThreadId()) * 0x9E3779B97F4A7C15ull ^
            static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    if (state == 0) state = 1;
  }
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1Dull;
}

std::vector<uint64_t> CallerStack() {
  uint64_t pcs[kMaxFrames];
  int depth = CaptureStackByFramePointers(pcs, kMaxFrames);
  return std::vector<uint64_t>(pcs, pcs + depth);
}

// Frames that only say "a lock was taken": the profiler's own and the standard lock
// wrappers. Pruned so that the function that locks is the leaf of the mutex and block
// profiles, as the locking function is in Go's.
const std::regex& LockFrames() {
  static const std::regex frames(
      R"(bananas::obs::ProfiledMutex::.*|bananas::obs::detail::.*|)"
      R"(std::lock_guard::.*|std::unique_lock::.*|std::scoped_lock::.*|std::lock|std::__lock_impl)");
  return frames;
}

bool IsProfilerFrame(const Symbol& symbol) {
  const std::string& name = symbol.frames.back().function;
  return name.rfind("bananas::obs::ProfiledMutex::", 0) == 0 ||
         name.rfind("bananas::obs::detail::", 0) == 0;
}

}  // namespace

void RecordMutexContention(int64_t delay_ns) {
  int fraction = g_mutex_fraction.load(std::memory_order_relaxed);
  if (fraction <= 0 || delay_ns <= 0) return;
  if (fraction > 1 && FastRandom() % static_cast<uint64_t>(fraction) != 0) return;
  Table(ContentionKind::kMutex)
      .Add(CallerStack(), fraction, static_cast<double>(delay_ns) * fraction);
}

void RecordBlockContention(int64_t delay_ns) {
  int64_t rate = g_block_rate_ns.load(std::memory_order_relaxed);
  if (rate <= 0 || delay_ns <= 0) return;
  double count = 1;
  double delay = static_cast<double>(delay_ns);
  if (delay_ns < rate) {
    if (static_cast<int64_t>(FastRandom() % static_cast<uint64_t>(rate)) >= delay_ns) return;
    // Kept with probability d/rate: each kept event stands for rate/d events of d each.
    count = static_cast<double>(rate) / static_cast<double>(delay_ns);
    delay = static_cast<double>(rate);
  }
  Table(ContentionKind::kBlock).Add(CallerStack(), count, delay);
}

std::vector<ContentionRecord> SnapshotContention(ContentionKind kind) {
  return Table(kind).Snapshot();
}

uint64_t DroppedContentionStacks(ContentionKind kind) { return Table(kind).dropped(); }

int MutexProfileFraction() { return g_mutex_fraction.load(std::memory_order_relaxed); }

Profile ContentionProfile(ContentionKind kind, Symbolizer& symbolizer) {
  Profile profile;
  profile.sample_types = {{"contentions", "count"}, {"delay", "nanoseconds"}};
  profile.period_type = {"contentions", "count"};
  profile.period = kind == ContentionKind::kMutex ? std::max(1, MutexProfileFraction()) : 1;
  profile.time_nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  for (ContentionRecord& record : SnapshotContention(kind)) {
    Sample sample;
    sample.pcs = std::move(record.pcs);
    sample.values = {std::llround(record.count), std::llround(record.delay_ns)};
    profile.samples.push_back(std::move(sample));
  }
  PruneFrames(profile, symbolizer, LockFrames());
  if (uint64_t dropped = DroppedContentionStacks(kind); dropped > 0) {
    profile.comments.push_back("dropped " + std::to_string(dropped) +
                               " events: the table of distinct stacks is full");
  }
  return profile;
}

std::string FormatContentionText(ContentionKind kind, Symbolizer& symbolizer) {
  std::vector<ContentionRecord> records = SnapshotContention(kind);
  std::sort(
      records.begin(), records.end(),
      [](const ContentionRecord& a, const ContentionRecord& b) { return a.delay_ns > b.delay_ns; });
  std::string out = kind == ContentionKind::kMutex ? "--- mutex:\n" : "--- contention:\n";
  out.append("cycles/second=1000000000\n");
  if (kind == ContentionKind::kMutex) {
    out.append("sampling period=" + std::to_string(MutexProfileFraction()) + "\n");
  }
  char line[64];
  for (ContentionRecord& record : records) {
    TrimLeading(record.pcs, symbolizer, IsProfilerFrame);
    std::snprintf(line, sizeof line, "%lld %lld @", std::llround(record.delay_ns),
                  std::llround(record.count));
    out.append(line);
    out.append(FormatPcList(record.pcs));
    out.push_back('\n');
    out.append(FormatStackRecord(record.pcs, symbolizer));
  }
  return out;
}

}  // namespace detail

int SetMutexProfileFraction(int fraction) {
  if (fraction < 0) return detail::g_mutex_fraction.load(std::memory_order_relaxed);
  return detail::g_mutex_fraction.exchange(fraction, std::memory_order_relaxed);
}

int64_t SetBlockProfileRate(int64_t rate_ns) {
  return detail::g_block_rate_ns.exchange(rate_ns < 0 ? 0 : rate_ns, std::memory_order_relaxed);
}

}  // namespace bananas::obs
