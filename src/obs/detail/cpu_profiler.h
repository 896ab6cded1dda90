// The CPU profiler: per-thread CPU-time timers, a SIGPROF handler, a lock-free sample ring.
//
// Order of events in CollectCpuProfile:
//   1. Claim the single profiling slot (a second caller gets FailedPrecondition, which the
//      endpoint turns into Go's "cpu profiling already in use").
//   2. mmap the sample ring, install the SIGPROF handler (once per process, never removed:
//      a late signal under SIG_DFL would kill the process, pitfall P4), warm the unwinder.
//   3. Every 50 ms: list /proc/self/task, arm a timer on the CPU-time clock of each new thread
//      (timer_create + SIGEV_THREAD_ID, so each busy thread gets its own 100 Hz and nothing
//      caps the process at one signal per tick as setitimer does), delete timers of threads
//      that are gone, and drain finished samples into a map keyed by (stack, thread, labels).
//   4. At the end: disarm, delete the timers, wait for handlers still running, drain, unmap.
//
// The handler runs on the interrupted thread: it claims a ring slot with a CAS, unwinds
// (unwind.h), copies the thread's job labels (thread_state.h) and publishes the slot. No
// allocation, no locks. A full ring drops the sample and counts it.
//
// Why process-wide state: SIGPROF and its handler belong to the process, so there is exactly
// one profiler; this is the one deliberate singleton of the module.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <vector>

#include "bananas/status.h"
#include "obs/detail/profile.h"

namespace bananas::obs::detail {

inline constexpr int kDefaultCpuHz = 100;

// Samples every thread of the process for `duration` (or until `stop` becomes true) at `hz`
// per busy thread. Samples carry labels `thread` (the thread's name) and, while set,
// `job_type` and `queue` (obs::SetJobLabels).
// FailedPrecondition("cpu profiling already in use") if another profile is running;
// Internal if the kernel refuses the timers or the ring cannot be mapped.
//
// `on_new_pcs`, if set, is called from the sampling loop (every drain, ~50 ms) with the PCs
// seen for the first time in this profile, so that a caller can symbolize while the samples
// are still being taken instead of after.
using NewPcsCallback = std::function<void(const std::vector<uint64_t>&)>;
[[nodiscard]] Result<Profile> CollectCpuProfile(std::chrono::nanoseconds duration, int hz,
                                                const std::atomic<bool>& stop,
                                                const NewPcsCallback& on_new_pcs = {});

// True while a CPU profile is being collected.
bool CpuProfileInProgress();

}  // namespace bananas::obs::detail
