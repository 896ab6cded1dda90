#include "obs/detail/unwind.h"

#include <pthread.h>
#include <ucontext.h>
#include <unwind.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "obs/detail/thread_state.h"

namespace bananas::obs::detail {
namespace {

// BANANAS_PPROF_UNWIND=fp selects frame pointers for signal stacks (cheaper, but it loses the
// caller of a leaf in libc, whose code has no frame pointers). Read once, in WarmUpUnwinder.
std::atomic<bool> use_frame_pointers{false};

struct InterruptedRegisters {
  uintptr_t pc = 0;
  uintptr_t fp = 0;
  uintptr_t sp = 0;
};

InterruptedRegisters RegistersOf(const void* ucontext) noexcept {
  InterruptedRegisters regs;
  if (ucontext == nullptr) return regs;
  const auto* uc = static_cast<const ucontext_t*>(ucontext);
#if defined(__x86_64__)
  regs.pc = static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
  regs.fp = static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RBP]);
  regs.sp = static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RSP]);
#elif defined(__aarch64__)
  regs.pc = static_cast<uintptr_t>(uc->uc_mcontext.pc);
  regs.fp = static_cast<uintptr_t>(uc->uc_mcontext.regs[29]);
  regs.sp = static_cast<uintptr_t>(uc->uc_mcontext.sp);
#endif
  return regs;
}

struct SignalWalk {
  uintptr_t interrupted_pc;
  uint64_t* pcs;
  int max;
  int depth;
  int skipped;
  bool found;  // reached the interrupted frame
};

_Unwind_Reason_Code SignalWalkStep(struct _Unwind_Context* context, void* arg) {
  auto* walk = static_cast<SignalWalk*>(arg);
  int ip_before_insn = 0;
  uintptr_t ip = _Unwind_GetIPInfo(context, &ip_before_insn);
  if (ip == 0) return _URC_END_OF_STACK;
  if (!walk->found) {
    // The frame after the kernel's signal trampoline is marked "IP before instruction"
    // (the IP is exact, not a return address); it is also the PC saved in the ucontext.
    if (ip == walk->interrupted_pc || ip_before_insn != 0) {
      walk->found = true;
    } else {
      // Frames of this handler and the unwinder; a handler never nests this deep.
      return ++walk->skipped > 32 ? _URC_END_OF_STACK : _URC_NO_REASON;
    }
    walk->pcs[walk->depth++] = ip;
  } else {
    walk->pcs[walk->depth++] = ip_before_insn != 0 ? ip : ip - 1;
  }
  return walk->depth >= walk->max ? _URC_END_OF_STACK : _URC_NO_REASON;
}

// Walks the frame-pointer chain from the interrupted registers, accepting only frames inside
// the thread's recorded stack, 8-byte aligned and strictly ascending, so a garbage RBP (code
// built without frame pointers) stops the walk instead of faulting.
int WalkFramePointers(const InterruptedRegisters& regs, uint64_t* pcs, int max) noexcept {
  int depth = 0;
  if (max <= 0 || regs.pc == 0) return 0;
  pcs[depth++] = regs.pc;
  const ThreadState& state = CurrentThreadState();
  uintptr_t low = state.stack_low > regs.sp ? state.stack_low : regs.sp;
  uintptr_t high = state.stack_high;
  uintptr_t fp = regs.fp;
  while (depth < max && high != 0) {
    if (fp < low || fp > high - 2 * sizeof(uintptr_t) || (fp & (sizeof(uintptr_t) - 1)) != 0) {
      break;
    }
    const auto* frame = reinterpret_cast<const uintptr_t*>(fp);
    uintptr_t next = frame[0];
    uintptr_t ret = frame[1];
    if (ret == 0) break;
    pcs[depth++] = ret - 1;
    if (next <= fp) break;
    fp = next;
  }
  return depth;
}

struct PlainWalk {
  uint64_t* pcs;
  int max;
  int depth;
  int skip;  // CaptureStack's own frame
};

_Unwind_Reason_Code PlainWalkStep(struct _Unwind_Context* context, void* arg) {
  auto* walk = static_cast<PlainWalk*>(arg);
  uintptr_t ip = _Unwind_GetIP(context);
  if (ip == 0) return _URC_END_OF_STACK;
  if (walk->skip > 0) {
    --walk->skip;
    return _URC_NO_REASON;
  }
  walk->pcs[walk->depth++] = ip - 1;
  return walk->depth >= walk->max ? _URC_END_OF_STACK : _URC_NO_REASON;
}

}  // namespace

int CaptureSignalStack(const void* ucontext, uint64_t* pcs, int max) noexcept {
  if (max <= 0) return 0;
  InterruptedRegisters regs = RegistersOf(ucontext);
  if (use_frame_pointers.load(std::memory_order_relaxed)) {
    return WalkFramePointers(regs, pcs, max);
  }
  SignalWalk walk{regs.pc, pcs, max, 0, 0, false};
  _Unwind_Backtrace(&SignalWalkStep, &walk);
  if (walk.found && walk.depth > 0) return walk.depth;
  // libgcc could not step through the signal frame (code without CFI, or a sanitizer that
  // runs handlers outside the signal frame).
  if (regs.pc == 0) return 0;
  return WalkFramePointers(regs, pcs, max);
}

// noinline: its own frame is the one skipped, by position, and that position only holds
// if this function is a real frame. It is compiled with -fno-optimize-sibling-calls.
__attribute__((noinline)) int CaptureStack(uint64_t* pcs, int max) noexcept {
  if (max <= 0) return 0;
  PlainWalk walk{pcs, max, 0, 1};
  _Unwind_Backtrace(&PlainWalkStep, &walk);
  return walk.depth;
}

__attribute__((noinline)) int CaptureStackByFramePointers(uint64_t* pcs, int max) noexcept {
  if (max <= 0) return 0;
  const ThreadState& state = CurrentThreadState();
  if (state.stack_high == 0) return CaptureStack(pcs, max);
  // This function's frame: [0] the caller's frame pointer, [1] the return address into it.
  const auto* own = static_cast<const uintptr_t*>(__builtin_frame_address(0));
  InterruptedRegisters regs;
  regs.sp = reinterpret_cast<uintptr_t>(own);
  regs.fp = own[0];
  regs.pc = own[1] - 1;
  return WalkFramePointers(regs, pcs, max);
}

void WarmUpUnwinder() noexcept {
  static std::atomic<bool> warmed{false};
  if (warmed.exchange(true)) return;
  const char* mode = std::getenv("BANANAS_PPROF_UNWIND");
  use_frame_pointers.store(mode != nullptr && std::strcmp(mode, "fp") == 0);
  uint64_t pcs[4];
  CaptureStack(pcs, 4);
}

void RecordStackBounds() noexcept {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
  void* addr = nullptr;
  size_t size = 0;
  if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
    ThreadState& state = CurrentThreadState();
    state.stack_low = reinterpret_cast<uintptr_t>(addr);
    state.stack_high = reinterpret_cast<uintptr_t>(addr) + size;
  }
  pthread_attr_destroy(&attr);
}

}  // namespace bananas::obs::detail
