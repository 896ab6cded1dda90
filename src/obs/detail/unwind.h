// Stack capture for the profilers: from a signal handler (CPU samples, thread dumps) and from
// ordinary code (mutex and block events).
//
// We unwind with libgcc's _Unwind_Backtrace, never libunwind (pprof-design.md P1: Debian's
// libunwind hijacks every _Unwind_* symbol and costs ~21 us per stack). On Debian 12 libgcc
// finds FDEs through glibc's lock-free _dl_find_object, which makes it usable from a signal
// handler as long as nothing registers frames at run time (no JIT in this process).
//
// PC convention of every captured stack: element 0 is the exact PC of the innermost frame
// when it is known (a signal's interrupted PC), and every other element is a return address
// minus one, i.e. an address inside the call instruction. Symbolizing those addresses gives
// the caller's line, which is what pprof expects in Location.address.
#pragma once

#include <cstdint>

namespace bananas::obs::detail {

inline constexpr int kMaxFrames = 64;

// Captures the stack interrupted by a signal, from inside its handler. `ucontext` is the
// handler's third argument. Frames of the handler itself are skipped by finding the signal
// frame (not by counting), so inlining and tail calls cannot eat the caller (pitfall P6).
// If libgcc cannot unwind through the signal frame, falls back to validated frame pointers
// (only for threads whose stack bounds RegisterThread recorded), else returns just the PC.
// Async-signal-safe. Returns the number of PCs written, at most `max`.
int CaptureSignalStack(const void* ucontext, uint64_t* pcs, int max) noexcept;

// Captures the calling thread's stack, starting at the caller of this function. Every PC
// is a return address minus one. Not for signal handlers (use CaptureSignalStack).
int CaptureStack(uint64_t* pcs, int max) noexcept;

// Like CaptureStack, but by walking frame pointers (validated against the thread's recorded
// stack bounds), about ten times cheaper than libgcc's unwinder: for events our own code
// records often, such as the mutex and block profiles' lock waits. The chain holds through
// everything compiled with frame pointers (this project's presets keep them) and stops at
// the first frame without one, typically the thread's entry in libstdc++. Falls back to
// CaptureStack on threads whose bounds were not recorded (not registered with RegisterThread).
int CaptureStackByFramePointers(uint64_t* pcs, int max) noexcept;

// Runs the unwinder once in ordinary context, so that its one-time initialisation (a
// pthread_once in libgcc) never happens inside a signal handler. Idempotent.
void WarmUpUnwinder() noexcept;

// Records the calling thread's stack bounds in its ThreadState (pthread_getattr_np).
void RecordStackBounds() noexcept;

}  // namespace bananas::obs::detail
