// Per-thread state the signal handlers read: job labels and stack bounds.
//
// Everything here is read from SIGPROF/SIGURG handlers running on the same thread, so it is
// plain fixed-size storage in a constant-initialised, initial-exec thread_local: no
// allocation, no lazy TLS initialisation, no locks. Writers (SetJobLabels) bracket their
// update with `labels_set = 0 ... = 1` and signal fences, so a handler that interrupts the
// update sees "no labels" rather than a torn string.
#pragma once

#include <csignal>
#include <cstddef>
#include <cstdint>

namespace bananas::obs::detail {

inline constexpr std::size_t kLabelBytes = 64;  // longer values are cut (NUL-terminated)

struct ThreadState {
  volatile sig_atomic_t labels_set;
  char job_type[kLabelBytes];
  char queue[kLabelBytes];
  // The thread's stack, [stack_low, stack_high); both 0 until RegisterThread recorded them.
  // Only the frame-pointer fallback unwinder needs them.
  uintptr_t stack_low;
  uintptr_t stack_high;
};

// The calling thread's state. Async-signal-safe.
ThreadState& CurrentThreadState() noexcept;

// Copies the labels of `state` into the two buffers (empty strings when unset).
// Async-signal-safe; meant for handlers interrupting the owning thread.
void CopyLabels(const ThreadState& state, char (&job_type)[kLabelBytes],
                char (&queue)[kLabelBytes]) noexcept;

}  // namespace bananas::obs::detail
