#include "obs/detail/pprof_handlers.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <tuple>

#include "obs/detail/contention.h"
#include "obs/detail/cpu_profiler.h"
#include "obs/detail/heap_profile.h"
#include "obs/detail/profile.h"
#include "obs/detail/symbolizer.h"
#include "obs/detail/thread_dump.h"
#include "obs/detail/threads.h"
#include "obs/log.h"

namespace bananas::obs::detail {
namespace {

constexpr std::string_view kPrefix = "/debug/pprof/";
constexpr auto kThreadDumpTimeout = std::chrono::milliseconds(500);
constexpr std::chrono::seconds kDefaultCpuSeconds{30};

struct ProfileInfo {
  const char* name;
  const char* description;
};

// Sorted by name, as Go's index is. Descriptions are Go's, adapted where C++ differs.
constexpr ProfileInfo kProfiles[] = {
    {"allocs", "A sampling of all past memory allocations (jemalloc)"},
    {"block", "Stack traces that led to blocking on synchronization primitives (ProfiledMutex)"},
    {"cmdline", "The command line invocation of the current program"},
    {"goroutine",
     "Stack traces of all current threads (C++ has no goroutines; each thread is one)"},
    {"heap", "A sampling of memory allocations of live objects (jemalloc)"},
    {"mutex", "Stack traces of holders of contended mutexes (ProfiledMutex)"},
    {"profile",
     "CPU profile. You can specify the duration in the seconds GET parameter. After you get "
     "the profile file, use the go tool pprof command to investigate the profile."},
    {"threadcreate", "The number of OS threads (without the stacks that created them)"},
};

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '"':
        out += "&#34;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

AdminResponse ProtoResponse(std::string_view name, std::string body) {
  AdminResponse response;
  response.content_type = "application/octet-stream";
  response.headers = {
      {"X-Content-Type-Options", "nosniff"},
      {"Content-Disposition", "attachment; filename=\"" + std::string(name) + "\""}};
  response.body = std::move(body);
  return response;
}

AdminResponse TextResponse(std::string body) {
  AdminResponse response;
  response.headers = {{"X-Content-Type-Options", "nosniff"}};
  response.body = std::move(body);
  return response;
}

// strconv.Atoi semantics: the whole string must be a decimal integer.
std::optional<int64_t> ParseInt(const std::optional<std::string>& text) {
  if (!text || text->empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(text->c_str(), &end, 10);
  if (errno != 0 || end == text->c_str() || *end != '\0') return std::nullopt;
  return value;
}

std::string LabelsJson(const std::string& job_type, const std::string& queue) {
  // Go's labelMap.String(): sorted keys, %q:%q joined by ", ".
  std::vector<std::string> pairs;
  if (!job_type.empty()) pairs.push_back("\"job_type\":\"" + job_type + "\"");
  if (!queue.empty()) pairs.push_back("\"queue\":\"" + queue + "\"");
  std::string out = "{";
  for (size_t i = 0; i < pairs.size(); ++i) out += (i ? ", " : "") + pairs[i];
  return out + "}";
}

std::string NoStackReason(const ThreadStack& t) {
  return t.blocks_signal ? "(no stack: the thread blocks SIGURG)"
                         : "(no stack: the thread did not answer SIGURG in time)";
}

Profile GoroutineProfile(const std::vector<ThreadStack>& threads) {
  Profile profile;
  profile.sample_types = {{"goroutine", "count"}};
  profile.period_type = {"goroutine", "count"};
  profile.period = 1;
  profile.time_nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  std::map<std::tuple<std::vector<uint64_t>, std::string, std::string>, int64_t> counts;
  for (const ThreadStack& t : threads) counts[{t.pcs, t.job_type, t.queue}]++;
  for (const auto& [key, count] : counts) {
    Sample sample;
    sample.pcs = std::get<0>(key);
    sample.values = {count};
    if (!std::get<1>(key).empty()) sample.labels.push_back({"job_type", std::get<1>(key), 0, ""});
    if (!std::get<2>(key).empty()) sample.labels.push_back({"queue", std::get<2>(key), 0, ""});
    profile.samples.push_back(std::move(sample));
  }
  return profile;
}

// debug=1: Go's printCountProfile, plus a "#\tthreads:" line naming the threads of a group.
std::string GoroutineText(const std::vector<ThreadStack>& threads, Symbolizer& symbolizer) {
  struct Group {
    std::string key;
    const ThreadStack* first = nullptr;
    std::vector<const ThreadStack*> members;
  };
  std::map<std::string, Group> groups;
  for (const ThreadStack& t : threads) {
    std::string key = "@" + FormatPcList(t.pcs);
    if (!t.job_type.empty() || !t.queue.empty()) {
      key += "\n# labels: " + LabelsJson(t.job_type, t.queue);
    }
    Group& g = groups[key];
    if (g.first == nullptr) {
      g.key = key;
      g.first = &t;
    }
    g.members.push_back(&t);
  }
  std::vector<const Group*> order;
  for (const auto& [key, group] : groups) order.push_back(&group);
  std::stable_sort(order.begin(), order.end(), [](const Group* a, const Group* b) {
    return a->members.size() > b->members.size();
  });
  std::string out = "goroutine profile: total " + std::to_string(threads.size()) + "\n";
  for (const Group* g : order) {
    out += std::to_string(g->members.size()) + " " + g->key + "\n";
    out += "#\tthreads:";
    for (const ThreadStack* t : g->members) {
      out += " " + std::to_string(t->tid) + "(" + t->name + ")";
    }
    out += "\n";
    if (!g->first->captured) out += "#\t" + NoStackReason(*g->first) + "\n";
    out += FormatStackRecord(g->first->pcs, symbolizer);
  }
  return out;
}

// debug=2: one block per thread, Go's traceback layout.
std::string ThreadDumpText(const std::vector<ThreadStack>& threads, Symbolizer& symbolizer) {
  std::string out;
  char buf[64];
  for (const ThreadStack& t : threads) {
    out += "goroutine " + std::to_string(t.tid) + " [" + ThreadStateName(t.state) + "]: thread \"" +
           t.name + "\"\n";
    if (!t.job_type.empty() || !t.queue.empty()) {
      out += "labels: " + LabelsJson(t.job_type, t.queue) + "\n";
    }
    if (!t.captured) out += "\t" + NoStackReason(t) + "\n";
    for (uint64_t pc : t.pcs) {
      const detail::Symbol& symbol = symbolizer.Resolve(pc);
      if (!symbol.known && symbol.mapping >= 0) {
        const Mapping& m = symbolizer.mappings()[symbol.mapping];
        std::snprintf(buf, sizeof buf, " +0x%" PRIx64, pc - m.start + m.file_offset);
        out += symbol.frames.back().function + "(...)\n\t" + m.path + buf + "\n";
        continue;
      }
      for (size_t i = 0; i < symbol.frames.size(); ++i) {
        const SourceFrame& frame = symbol.frames[i];
        out += frame.function + "(...)\n\t" + (frame.file.empty() ? "?" : frame.file) + ":" +
               std::to_string(frame.line);
        if (i + 1 == symbol.frames.size()) {
          std::snprintf(buf, sizeof buf, " +0x%" PRIx64, symbol.symbol_offset);
          out += buf;
        }
        out += "\n";
      }
    }
    out += "\n";
  }
  return out;
}

Profile ThreadCreateProfile() {
  Profile profile;
  profile.sample_types = {{"threadcreate", "count"}};
  profile.period_type = {"threadcreate", "count"};
  profile.period = 1;
  profile.samples.push_back({{}, {static_cast<int64_t>(ListThreads().size())}, {}});
  profile.comments.push_back("thread creation stacks are not recorded; this is the thread count");
  return profile;
}

std::string JemallocStatsText() {
  // Appended to the heap text like Go appends runtime.MemStats.
  using Mallctl = int (*)(const char*, void*, size_t*, void*, size_t);
  auto mallctl = reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"));
  if (mallctl == nullptr) return "";
  uint64_t epoch = 1;
  size_t size = sizeof epoch;
  mallctl("epoch", &epoch, &size, &epoch, size);
  std::string out = "\n# jemalloc stats\n";
  for (const char* name : {"stats.allocated", "stats.active", "stats.resident", "stats.mapped",
                           "stats.retained", "stats.metadata"}) {
    size_t value = 0;
    size = sizeof value;
    if (mallctl(name, &value, &size, nullptr, 0) == 0) {
      out += "# " + std::string(name + 6) + " = " + std::to_string(value) + "\n";
    }
  }
  return out;
}

std::string SampleKey(const Sample& sample) {
  std::string key(reinterpret_cast<const char*>(sample.pcs.data()), sample.pcs.size() * 8);
  for (const Label& l : sample.labels)
    key += "\n" + l.key + "=" + l.str + "#" + std::to_string(l.num);
  return key + "\n" + std::to_string(sample.leaf_inline_skip);
}

// after - before, sample by sample (Go: p0.Scale(-1); profile.Merge(p0, p1)).
Profile DeltaProfile(const Profile& before, Profile after) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < after.samples.size(); ++i) index[SampleKey(after.samples[i])] = i;
  for (const Sample& old : before.samples) {
    auto it = index.find(SampleKey(old));
    if (it == index.end()) {
      Sample negative = old;
      for (int64_t& v : negative.values) v = -v;
      index[SampleKey(old)] = after.samples.size();
      after.samples.push_back(std::move(negative));
      continue;
    }
    std::vector<int64_t>& values = after.samples[it->second].values;
    for (size_t v = 0; v < values.size() && v < old.values.size(); ++v) values[v] -= old.values[v];
  }
  std::erase_if(after.samples, [](const Sample& s) {
    return std::all_of(s.values.begin(), s.values.end(), [](int64_t v) { return v == 0; });
  });
  after.duration_nanos = after.time_nanos - before.time_nanos;
  return after;
}

bool IsDeltaCapable(std::string_view name) {
  return name == "allocs" || name == "block" || name == "goroutine" || name == "heap" ||
         name == "mutex" || name == "threadcreate";
}

// Acquired on first use, after the raw data is taken: a symbolizer being built then does
// not show up in the heap profile being taken, and the shared one is held only as long as
// needed.
class LazySymbolizer {
 public:
  explicit LazySymbolizer(SharedSymbolizer& shared) : shared_(shared) {}
  Symbolizer& operator*() {
    if (!lease_) lease_.emplace(shared_.Acquire());
    return **lease_;
  }

 private:
  SharedSymbolizer& shared_;
  std::optional<SharedSymbolizer::Lease> lease_;
};

// The proto of a named profile (not CPU), or the error the endpoint answers.
Result<Profile> CollectProfile(const std::string& name, LazySymbolizer& symbolizer) {
  if (name == "heap" || name == "allocs") {
    Result<HeapDump> dump = DumpJemallocHeap();
    if (!dump.ok()) return dump.status();
    return HeapProfileFromDump(*dump, *symbolizer, name == "allocs");
  }
  if (name == "goroutine") return GoroutineProfile(DumpThreads(kThreadDumpTimeout));
  if (name == "mutex") return ContentionProfile(ContentionKind::kMutex, *symbolizer);
  if (name == "block") return ContentionProfile(ContentionKind::kBlock, *symbolizer);
  return ThreadCreateProfile();
}

Result<std::string> CollectText(const std::string& name, int64_t debug,
                                LazySymbolizer& symbolizer) {
  if (name == "heap" || name == "allocs") {
    Result<HeapDump> dump = DumpJemallocHeap();
    if (!dump.ok()) return dump.status();
    return FormatHeapText(*dump, *symbolizer) + JemallocStatsText();
  }
  if (name == "goroutine") {
    std::vector<ThreadStack> threads = DumpThreads(kThreadDumpTimeout);
    return debug >= 2 ? ThreadDumpText(threads, *symbolizer) : GoroutineText(threads, *symbolizer);
  }
  if (name == "mutex") return FormatContentionText(ContentionKind::kMutex, *symbolizer);
  if (name == "block") return FormatContentionText(ContentionKind::kBlock, *symbolizer);
  return "threadcreate profile: total " + std::to_string(ListThreads().size()) + "\n";
}

// PCs handed from the CPU profiler's sampling loop to the thread that symbolizes them.
class PcFeed {
 public:
  void Put(const std::vector<uint64_t>& pcs) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      pcs_.insert(pcs_.end(), pcs.begin(), pcs.end());
    }
    changed_.notify_one();
  }
  void Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    changed_.notify_one();
  }
  // Waits for PCs; false once closed and drained.
  bool Take(std::vector<uint64_t>& out) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return closed_ || !pcs_.empty(); });
    out.swap(pcs_);
    pcs_.clear();
    return !out.empty() || !closed_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<uint64_t> pcs_;  // Guarded by mu_.
  bool closed_ = false;        // Guarded by mu_.
};

int StatusForError(const Status& status) {
  // 501: the build cannot serve this profile at all (no jemalloc); retrying will not help.
  return status.IsUnavailable() ? 501 : 500;
}

}  // namespace

AdminResponse PprofError(int status, std::string_view message) {
  AdminResponse response;
  response.status = status;
  response.content_type = "text/plain; charset=utf-8";
  response.headers = {{"X-Content-Type-Options", "nosniff"}, {"X-Go-Pprof", "1"}};
  response.body = std::string(message) + "\n";
  return response;
}

void PprofHandlers::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_.store(true, std::memory_order_release);
  }
  stop_cv_.notify_all();
}

bool PprofHandlers::WaitUnlessStopped(std::chrono::seconds duration) {
  std::unique_lock<std::mutex> lock(stop_mu_);
  return !stop_cv_.wait_for(lock, duration,
                            [this] { return stopping_.load(std::memory_order_acquire); });
}

AdminResponse PprofHandlers::Serve(const AdminRequest& request) {
  std::string name = request.path.substr(std::min(request.path.size(), kPrefix.size()));
  if (name.empty()) return Index();
  if (name == "profile") return CpuProfile(request);
  if (name == "symbol") return Symbol(request);
  if (name == "cmdline") return Cmdline();
  for (const ProfileInfo& info : kProfiles) {
    if (name == info.name) return NamedProfile(name, request);
  }
  return PprofError(404, "Unknown profile");
}

AdminResponse PprofHandlers::Index() {
  std::string html = R"(<html>
<head>
<title>/debug/pprof/</title>
<style>
.profile-name{
	display:inline-block;
	width:6rem;
}
</style>
</head>
<body>
/debug/pprof/<br>
<br>
Types of profiles available:
<table>
<thead><td>Count</td><td>Profile</td></thead>
)";
  for (const ProfileInfo& info : kProfiles) {
    std::string_view name = info.name;
    size_t count = 0;
    if (name == "goroutine" || name == "threadcreate") {
      count = ListThreads().size();
    } else if (name == "mutex") {
      count = SnapshotContention(ContentionKind::kMutex).size();
    } else if (name == "block") {
      count = SnapshotContention(ContentionKind::kBlock).size();
    } else if (name == "heap" || name == "allocs") {
      if (Result<HeapDump> dump = DumpJemallocHeap(); dump.ok()) count = dump->records.size();
    } else if (name == "profile") {
      count = CpuProfileInProgress() ? 1 : 0;  // ours: 1 while a CPU profile is being taken
    }
    html += "<tr><td>" + std::to_string(count) + "</td><td><a href='" + std::string(name) +
            "?debug=1'>" + HtmlEscape(name) + "</a></td></tr>\n";
  }
  html += R"(</table>
<a href="goroutine?debug=2">full goroutine stack dump</a>
<br>
<p>
Profile Descriptions:
<ul>
)";
  for (const ProfileInfo& info : kProfiles) {
    html += "<li><div class=profile-name>" + HtmlEscape(info.name) + ": </div> " +
            HtmlEscape(info.description) + "</li>\n";
  }
  html += "</ul>\n</p>\n</body>\n</html>";
  AdminResponse response = TextResponse(std::move(html));
  response.content_type = "text/html; charset=utf-8";
  return response;
}

AdminResponse PprofHandlers::CpuProfile(const AdminRequest& request) {
  std::optional<int64_t> seconds = ParseInt(request.Param("seconds"));
  auto duration = seconds && *seconds > 0 ? std::chrono::seconds(*seconds) : kDefaultCpuSeconds;
  if (duration > max_profile_duration_) {
    return PprofError(400, "profile duration exceeds server's limit of " +
                               std::to_string(max_profile_duration_.count()) + "s");
  }
  if (stopping_.load(std::memory_order_acquire)) return PprofError(503, "server is stopping");
  // Symbolize while the samples are taken, not after: reading the DWARF costs ~100 ms of
  // CPU and every new PC a scope walk (seconds for a busy HTTP server's first profile on a
  // loaded machine), and `go tool pprof` gives up on a profile that has not arrived 1.5 x
  // seconds after it asked. A helper thread takes the PCs each drain finds for the first
  // time; it is born with SIGPROF blocked (the mask is inherited), so the profile does not
  // show its own preparation.
  //
  // And answer in time when symbolizing is slow: at `answer_by` the helper stops, between two
  // PCs, and PCs not named by then keep their mapping's name ("[bananas]"), as pprof prints
  // them itself. A profile with a few unnamed frames is worth more than one the client gave
  // up on. (A single lookup that never returns would still hold the answer: DECISIONS.md.)
  const auto asked = std::chrono::steady_clock::now();
  const auto answer_by = asked + duration +
                         std::max<std::chrono::nanoseconds>(std::chrono::nanoseconds(duration) / 4,
                                                            std::chrono::seconds(3));
  PcFeed feed;
  std::atomic<bool> give_up{false};
  std::atomic<size_t> symbolized{0};
  sigset_t profiling, previous;
  sigemptyset(&profiling);
  sigaddset(&profiling, SIGPROF);
  pthread_sigmask(SIG_BLOCK, &profiling, &previous);
  std::promise<void> named;
  std::promise<void> finished;
  std::future<void> symbolize_done = finished.get_future();
  std::thread symbolize([this, &feed, &named, &finished, &give_up, &symbolized] {
    pthread_setname_np(pthread_self(), "pprof-symbols");  // as the profile's comment names it
    named.set_value();
    std::vector<uint64_t> pcs;
    do {
      // A lease per batch: other requests (thread dumps, heap) are served in between.
      SharedSymbolizer::Lease lease = symbolizer_.Acquire();
      for (uint64_t pc : pcs) {
        if (give_up.load(std::memory_order_relaxed)) break;
        lease->Resolve(pc);
        symbolized.fetch_add(1, std::memory_order_relaxed);
      }
    } while (!give_up.load(std::memory_order_relaxed) && feed.Take(pcs));
    finished.set_value();
  });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  named.get_future().wait();
  std::atomic<size_t> fresh_pcs{0};
  Result<Profile> profile = CollectCpuProfile(
      duration, kDefaultCpuHz, stopping_, [&feed, &fresh_pcs](const std::vector<uint64_t>& pcs) {
        fresh_pcs.fetch_add(pcs.size(), std::memory_order_relaxed);
        feed.Put(pcs);
      });
  const auto collected = std::chrono::steady_clock::now();
  feed.Close();
  if (symbolize_done.wait_until(answer_by) != std::future_status::ready) {
    give_up.store(true, std::memory_order_relaxed);
  }
  symbolize.join();
  if (!profile.ok()) {
    return PprofError(500, "Could not enable CPU profiling: " + profile.status().message());
  }
  if (stopping_.load(std::memory_order_acquire)) return PprofError(503, "server is stopping");
  SharedSymbolizer::Lease symbolizer = symbolizer_.Acquire();
  symbolizer->set_lookup_deadline(answer_by);
  Result<std::string> body = EncodeGzippedProfile(*profile, *symbolizer);
  if (!body.ok()) return PprofError(500, body.status().message());
  const auto answered = std::chrono::steady_clock::now();
  const size_t late = symbolizer->late_lookups();
  if (late > 0 || answered - asked > duration + std::chrono::seconds(1)) {
    // Why a profile came late or with unnamed frames: where the time went.
    auto ms = [](auto d) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    };
    Log(LogLevel::kWarn, "cpu profile answered late or partly unsymbolized",
        {{"seconds", static_cast<int64_t>(duration.count())},
         {"collect_ms", ms(collected - asked)},
         {"symbolize_wait_ms", ms(answered - collected)},
         {"new_pcs", fresh_pcs.load()},
         {"symbolized_while_sampling", symbolized.load()},
         {"unsymbolized", late}});
  }
  return ProtoResponse("profile", std::move(*body));
}

AdminResponse PprofHandlers::NamedProfile(const std::string& name, const AdminRequest& request) {
  int64_t debug = ParseInt(request.Param("debug")).value_or(0);
  std::optional<std::string> seconds_text = request.Param("seconds");
  LazySymbolizer symbolizer(symbolizer_);
  if (seconds_text) {
    std::optional<int64_t> seconds = ParseInt(seconds_text);
    if (!seconds || *seconds <= 0) {
      return PprofError(400, R"(invalid value for "seconds" - must be a positive integer)");
    }
    if (!IsDeltaCapable(name)) {
      return PprofError(400, R"("seconds" parameter is not supported for this profile type)");
    }
    if (std::chrono::seconds(*seconds) > max_profile_duration_) {
      return PprofError(400, "profile duration exceeds server's limit of " +
                                 std::to_string(max_profile_duration_.count()) + "s");
    }
    if (debug != 0) return PprofError(400, "seconds and debug params are incompatible");
    Result<Profile> before = CollectProfile(name, symbolizer);
    if (!before.ok()) return PprofError(StatusForError(before.status()), before.status().message());
    if (!WaitUnlessStopped(std::chrono::seconds(*seconds))) {
      return PprofError(503, "server is stopping");
    }
    Result<Profile> after = CollectProfile(name, symbolizer);
    if (!after.ok()) return PprofError(StatusForError(after.status()), after.status().message());
    Result<std::string> body =
        EncodeGzippedProfile(DeltaProfile(*before, std::move(*after)), *symbolizer);
    if (!body.ok()) return PprofError(500, body.status().message());
    return ProtoResponse(name + "-delta", std::move(*body));
  }
  if (debug != 0) {
    Result<std::string> text = CollectText(name, debug, symbolizer);
    if (!text.ok()) return PprofError(StatusForError(text.status()), text.status().message());
    return TextResponse(std::move(*text));
  }
  Result<Profile> profile = CollectProfile(name, symbolizer);
  if (!profile.ok())
    return PprofError(StatusForError(profile.status()), profile.status().message());
  Result<std::string> body = EncodeGzippedProfile(*profile, *symbolizer);
  if (!body.ok()) return PprofError(500, body.status().message());
  return ProtoResponse(name, std::move(*body));
}

AdminResponse PprofHandlers::Symbol(const AdminRequest& request) {
  // Go reads the POST body, or else the raw query, as "0xA+0xB+..." and answers one line per
  // address it knows; pprof only checks that num_symbols is not 0.
  std::string out = "num_symbols: 1\n";
  std::string_view input = request.method == "POST" ? request.body : request.query;
  SharedSymbolizer::Lease symbolizer = symbolizer_.Acquire();
  while (!input.empty()) {
    size_t plus = input.find('+');
    std::string word(input.substr(0, plus));
    input.remove_prefix(plus == std::string_view::npos ? input.size() : plus + 1);
    char* end = nullptr;
    unsigned long long pc = std::strtoull(word.c_str(), &end, 0);  // ParseUint(word, 0, 64)
    if (pc == 0 || end == word.c_str() || *end != '\0') continue;
    const detail::Symbol& symbol = symbolizer->Resolve(pc);
    if (!symbol.known) continue;
    char address[32];
    std::snprintf(address, sizeof address, "%#llx ", pc);
    out += address + Demangle(symbol.frames.back().system_name) + "\n";
  }
  return TextResponse(std::move(out));
}

std::string MaskCommandLine(std::string_view args) {
  // Flags whose value is a secret as a whole (config.h rows marked secret).
  constexpr std::string_view kSecretFlags[] = {"--api-token"};
  std::string out;
  bool mask_next = false;
  while (true) {
    size_t end = args.find('\0');
    std::string arg(args.substr(0, end));
    if (mask_next) {
      arg = "***";
      mask_next = false;
    } else {
      for (std::string_view flag : kSecretFlags) {
        if (arg == flag) mask_next = true;
        if (arg.starts_with(std::string(flag) + "=")) arg = std::string(flag) + "=***";
      }
      // scheme://user:password@host: the password (or a lone user info) becomes ***.
      size_t scheme = arg.find("://");
      if (scheme != std::string::npos) {
        size_t begin = scheme + 3;
        size_t at = arg.find('@', begin);
        size_t slash = arg.find('/', begin);
        if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
          size_t colon = arg.find(':', begin);
          size_t from = colon != std::string::npos && colon < at ? colon + 1 : begin;
          if (at > from) arg.replace(from, at - from, "***");
        }
      }
    }
    out += arg;
    if (end == std::string_view::npos) break;
    out.push_back('\0');
    args.remove_prefix(end + 1);
  }
  return out;
}

AdminResponse PprofHandlers::Cmdline() {
  std::ifstream file("/proc/self/cmdline", std::ios::binary);
  std::stringstream buffer;
  buffer << file.rdbuf();
  std::string args = buffer.str();
  if (!args.empty() && args.back() == '\0') args.pop_back();  // Go joins with NUL, no trailer
  // A password given as a flag (--redis-url redis://:pw@host) must not leak through the
  // admin port: the URL's password and secret flags' values are masked. (`ps` still shows
  // them: the docs say to prefer the environment variables.)
  return TextResponse(MaskCommandLine(args));
}

}  // namespace bananas::obs::detail
