#include "obs/detail/heap_profile.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <regex>

// jemalloc reads this symbol at its first allocation, before main; defining it in the
// executable turns sampling on with no environment needed (MALLOC_CONF still overrides).
// It must live in the executable, not a shared library (pitfall P3): bananas_obs is a static
// library, and this file is always linked because the heap endpoint calls into it.
//   prof:true, prof_active:true  sample from the start; the options are read-only later.
//   lg_prof_sample:19            one sample per 512 KiB allocated on average, Go's default
//                                MemProfileRate; see docs/PROFILING.md for the measured cost.
//   prof_accum:true              keep cumulative counts, without which alloc_* are all zero.
extern "C" {
__attribute__((used, visibility("default"))) const char* malloc_conf =
    "prof:true,prof_active:true,lg_prof_sample:19,prof_accum:true";
}

namespace bananas::obs::detail {
namespace {

using MallctlFunction = int (*)(const char*, void*, size_t*, void*, size_t);

MallctlFunction FindMallctl() {
  return reinterpret_cast<MallctlFunction>(dlsym(RTLD_DEFAULT, "mallctl"));
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

bool IsJemallocFrame(const Symbol& symbol, Symbolizer& symbolizer) {
  return symbol.mapping >= 0 &&
         symbolizer.mappings()[symbol.mapping].path.find("libjemalloc") != std::string::npos;
}

// Allocator entry points and the standard library's allocation plumbing, pruned so that the
// code that asked for memory is the leaf, as Go's allocation sites are; pprof prunes legacy
// C++ heap profiles the same way (its allocRxStr).
const std::regex& AllocationFrames() {
  static const std::regex frames(
      R"(operator new(\[\])?|operator delete(\[\])?|malloc|calloc|realloc|free|)"
      R"(posix_memalign|aligned_alloc|memalign|valloc|pvalloc|__libc_.*|)"
      R"(__cxa_allocate_exception|__gnu_cxx::new_allocator::allocate|)"
      R"(std::__new_allocator::allocate|std::allocator::allocate|std::allocator_traits::allocate|)"
      R"(std::make_unique|std::make_shared|std::allocate_shared|std::__allocate_guarded|)"
      R"(std::.*::_M_allocate.*|std::.*::_M_get_node|std::.*::_M_create|std::.*::_M_create_storage|)"
      R"(std::string::_Rep::_S_create|std::__cxx11::basic_string::(_M_.*|reserve))");
  return frames;
}

}  // namespace

const char* BuiltInMallocConf() { return malloc_conf; }

double HeapScale(int64_t objects, int64_t bytes, int64_t period) {
  if (objects <= 0 || bytes <= 0 || period <= 1) return 1.0;
  double average = static_cast<double>(bytes) / static_cast<double>(objects);
  return 1.0 / (1.0 - std::exp(-average / static_cast<double>(period)));
}

Result<HeapDump> ParseJemallocDump(std::string_view text) {
  HeapDump dump;
  bool header_seen = false;
  HeapRecord* current = nullptr;
  int line_number = 0;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++line_number;
    if (line.empty()) continue;
    if (!header_seen) {
      if (!StartsWith(line, "heap_v2/")) {
        return Status::Corruption("jemalloc heap dump: line 1 is not 'heap_v2/<period>'");
      }
      dump.sample_period = std::strtoll(std::string(line.substr(8)).c_str(), nullptr, 10);
      header_seen = true;
      continue;
    }
    if (StartsWith(line, "MAPPED_LIBRARIES:")) break;
    if (line.front() == '@') {
      HeapRecord record;
      std::string pcs(line.substr(1));
      const char* p = pcs.c_str();
      char* end = nullptr;
      for (;;) {
        unsigned long long pc = std::strtoull(p, &end, 16);
        if (end == p) break;
        // jemalloc records return addresses (it has no exact leaf PC): step into the call.
        if (pc != 0) record.pcs.push_back(pc - 1);
        p = end;
      }
      dump.records.push_back(std::move(record));
      current = &dump.records.back();
      continue;
    }
    std::string_view trimmed = TrimLeft(line);
    if (StartsWith(trimmed, "t*:")) {
      long long live_objects = 0, live_bytes = 0, alloc_objects = 0, alloc_bytes = 0;
      std::string copy(trimmed);
      if (std::sscanf(copy.c_str(), "t*: %lld: %lld [%lld: %lld]", &live_objects, &live_bytes,
                      &alloc_objects, &alloc_bytes) != 4) {
        return Status::Corruption("jemalloc heap dump: cannot parse line " +
                                  std::to_string(line_number) + ": " + copy);
      }
      if (current != nullptr) {  // before the first '@' these are the process totals
        current->live_objects = live_objects;
        current->live_bytes = live_bytes;
        current->alloc_objects = alloc_objects;
        current->alloc_bytes = alloc_bytes;
      }
    }
    // Per-thread "tN:" lines repeat the totals by thread; not needed.
  }
  if (!header_seen) return Status::Corruption("jemalloc heap dump: empty");
  return dump;
}

Result<HeapDump> DumpJemallocHeap() {
  MallctlFunction mallctl = FindMallctl();
  if (mallctl == nullptr) {
    return Status::Unavailable(
        "heap profiling is unavailable: this binary does not use jemalloc (a sanitizer build, "
        "or built with BANANAS_JEMALLOC=OFF)");
  }
  bool prof = false;
  size_t size = sizeof prof;
  if (mallctl("opt.prof", &prof, &size, nullptr, 0) != 0 || !prof) {
    return Status::Unavailable(
        std::string("heap profiling is off: jemalloc started without prof:true (is MALLOC_CONF "
                    "overriding the built-in \"") +
        malloc_conf + "\"?)");
  }
  // jemalloc serialises dumps itself; this keeps two requests from sharing the memfd path.
  static std::mutex one_dump_at_a_time;
  std::lock_guard<std::mutex> lock(one_dump_at_a_time);
  int fd = memfd_create("bananas-heap-profile", MFD_CLOEXEC);
  if (fd < 0) return Status::Internal("heap profile: memfd_create failed");
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  const char* path_c = path.c_str();
  int rc = mallctl("prof.dump", nullptr, nullptr, &path_c, sizeof path_c);
  if (rc != 0) {
    close(fd);
    return Status::Internal("heap profile: mallctl(prof.dump) failed with " + std::to_string(rc));
  }
  std::string text;
  char buffer[1 << 16];
  off_t offset = 0;
  for (;;) {
    ssize_t n = pread(fd, buffer, sizeof buffer, offset);
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
    offset += n;
  }
  close(fd);
  return ParseJemallocDump(text);
}

Profile HeapProfileFromDump(const HeapDump& dump, Symbolizer& symbolizer, bool allocs) {
  Profile profile;
  profile.sample_types = {{"alloc_objects", "count"},
                          {"alloc_space", "bytes"},
                          {"inuse_objects", "count"},
                          {"inuse_space", "bytes"}};
  profile.period_type = {"space", "bytes"};
  profile.period = dump.sample_period;
  profile.time_nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  if (allocs) profile.default_sample_type = "alloc_space";
  auto drop = [&](const Symbol& symbol) { return IsJemallocFrame(symbol, symbolizer); };
  for (const HeapRecord& record : dump.records) {
    if (record.alloc_objects == 0 && record.live_objects == 0) continue;
    Sample sample;
    sample.pcs = record.pcs;
    TrimLeading(sample.pcs, symbolizer, drop);
    double live_scale = HeapScale(record.live_objects, record.live_bytes, dump.sample_period);
    double alloc_scale = HeapScale(record.alloc_objects, record.alloc_bytes, dump.sample_period);
    sample.values = {
        static_cast<int64_t>(static_cast<double>(record.alloc_objects) * alloc_scale),
        static_cast<int64_t>(static_cast<double>(record.alloc_bytes) * alloc_scale),
        static_cast<int64_t>(static_cast<double>(record.live_objects) * live_scale),
        static_cast<int64_t>(static_cast<double>(record.live_bytes) * live_scale),
    };
    // Go labels each sample with its object size, so -tagfocus=bytes=1mb.. works.
    int64_t objects = record.alloc_objects > 0 ? record.alloc_objects : record.live_objects;
    int64_t bytes = record.alloc_objects > 0 ? record.alloc_bytes : record.live_bytes;
    if (objects > 0) sample.labels.push_back({"bytes", "", bytes / objects, ""});
    profile.samples.push_back(std::move(sample));
  }
  PruneFrames(profile, symbolizer, AllocationFrames());
  return profile;
}

std::string FormatHeapText(const HeapDump& dump, Symbolizer& symbolizer) {
  std::vector<HeapRecord> records = dump.records;
  std::sort(records.begin(), records.end(),
            [](const HeapRecord& a, const HeapRecord& b) { return a.live_bytes > b.live_bytes; });
  HeapRecord total;
  for (const HeapRecord& r : records) {
    total.live_objects += r.live_objects;
    total.live_bytes += r.live_bytes;
    total.alloc_objects += r.alloc_objects;
    total.alloc_bytes += r.alloc_bytes;
  }
  // 2*period: early C++ heap profilers reported that, and pprof has come to expect it
  // (runtime/pprof writeHeapInternal).
  char line[160];
  std::snprintf(line, sizeof line,
                "heap profile: %" PRId64 ": %" PRId64 " [%" PRId64 ": %" PRId64 "] @ heap/%" PRId64
                "\n",
                total.live_objects, total.live_bytes, total.alloc_objects, total.alloc_bytes,
                2 * dump.sample_period);
  std::string out = line;
  auto drop = [&](const Symbol& symbol) { return IsJemallocFrame(symbol, symbolizer); };
  for (HeapRecord& r : records) {
    TrimLeading(r.pcs, symbolizer, drop);
    std::snprintf(line, sizeof line, "%" PRId64 ": %" PRId64 " [%" PRId64 ": %" PRId64 "] @",
                  r.live_objects, r.live_bytes, r.alloc_objects, r.alloc_bytes);
    out.append(line);
    out.append(FormatPcList(r.pcs));
    out.push_back('\n');
    out.append(FormatStackRecord(r.pcs, symbolizer));
  }
  return out;
}

}  // namespace bananas::obs::detail
