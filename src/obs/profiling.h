// Profiling hooks for code outside src/obs: thread names and CPU-sample labels.
//
// Every thread of the process is profiled whether or not it calls anything here: the CPU
// profiler and the thread dump list /proc/self/task, so threads created by Boost.Asio,
// hiredis or plug-ins are included, as long as they do not block SIGPROF and SIGURG.
// These calls make profiles easier to read, and RegisterThread unblocks those signals.
//
// Thread safety: every function acts on the calling thread only.
#pragma once

#include <string_view>

namespace bananas::obs {

// Names the calling thread (Linux keeps 15 bytes; longer names are cut), as profiles, the
// goroutine dump and `top -H` show it; unblocks SIGPROF and SIGURG in it, without which the
// thread can be neither CPU-sampled nor dumped (a thread inherits its creator's signal mask,
// and Boost.Asio's internal threads block every signal); and records its stack bounds, which
// lets the frame-pointer fallback unwinder walk this thread's stack. Call at thread start,
// e.g. RegisterThread("worker-3"); an empty name keeps the current one. Optional; safe to
// call again to rename.
void RegisterThread(std::string_view name = {});

// Labels the calling thread's CPU samples (and its entry in the goroutine dump) with
// job_type and queue until ClearJobLabels, so `go tool pprof -tagfocus=job_type=<name>`
// isolates one job type. Values longer than 63 bytes are cut. Cheap (two short copies, no
// allocation) and async-signal-safe to read: the SIGPROF handler copies them.
void SetJobLabels(std::string_view job_type, std::string_view queue) noexcept;
void ClearJobLabels() noexcept;

// SetJobLabels for a scope; clears on destruction.
class ScopedJobLabels {
 public:
  ScopedJobLabels(std::string_view job_type, std::string_view queue) noexcept {
    SetJobLabels(job_type, queue);
  }
  ScopedJobLabels(const ScopedJobLabels&) = delete;
  ScopedJobLabels& operator=(const ScopedJobLabels&) = delete;
  ~ScopedJobLabels() { ClearJobLabels(); }
};

}  // namespace bananas::obs
