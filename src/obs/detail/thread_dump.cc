#include "obs/detail/thread_dump.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <memory>
#include <mutex>
#include <thread>

#include "obs/detail/thread_state.h"
#include "obs/detail/threads.h"
#include "obs/detail/unwind.h"

namespace bananas::obs::detail {
namespace {

enum SlotState : int { kRequested = 0, kWriting = 1, kDone = 2 };

struct DumpSlot {
  pid_t tid;
  std::atomic<int> state;
  int depth;
  uint64_t pcs[kMaxFrames];
  char job_type[kLabelBytes];
  char queue[kLabelBytes];
};

struct DumpRequest {
  explicit DumpRequest(size_t n) : slots(new DumpSlot[n]), count(n) {}
  std::unique_ptr<DumpSlot[]> slots;
  size_t count;
  std::atomic<int> answered{0};  // futex word: number of slots done
};

// The dump in progress, read by handlers. A handler counts itself in g_in_handler before it
// loads the pointer, and the dumper frees a request only after clearing the pointer and
// seeing the count at zero, so no handler can touch a freed request.
std::atomic<DumpRequest*> g_request{nullptr};
std::atomic<int> g_in_handler{0};
struct sigaction g_previous_action;

long Futex(std::atomic<int>* word, int op, int value, const timespec* timeout) {
  static_assert(sizeof(std::atomic<int>) == sizeof(int));
  return syscall(SYS_futex, reinterpret_cast<int*>(word), op, value, timeout, nullptr, 0);
}

void AnswerDump(DumpRequest* request, void* ucontext) {
  pid_t self = CurrentThreadId();
  for (size_t i = 0; i < request->count; ++i) {
    DumpSlot& slot = request->slots[i];
    if (slot.tid != self) continue;
    int expected = kRequested;
    if (!slot.state.compare_exchange_strong(expected, kWriting, std::memory_order_acquire)) return;
    slot.depth = CaptureSignalStack(ucontext, slot.pcs, kMaxFrames);
    CopyLabels(CurrentThreadState(), slot.job_type, slot.queue);
    slot.state.store(kDone, std::memory_order_release);
    request->answered.fetch_add(1, std::memory_order_release);
    Futex(&request->answered, FUTEX_WAKE_PRIVATE, 1, nullptr);
    return;
  }
}

void OnSigurg(int signo, siginfo_t* info, void* ucontext) {
  int saved_errno = errno;
  g_in_handler.fetch_add(1, std::memory_order_acq_rel);
  if (DumpRequest* request = g_request.load(std::memory_order_acquire)) {
    AnswerDump(request, ucontext);
  }
  g_in_handler.fetch_sub(1, std::memory_order_acq_rel);
  // Chain to a handler someone installed before us.
  if ((g_previous_action.sa_flags & SA_SIGINFO) != 0 && g_previous_action.sa_sigaction != nullptr) {
    g_previous_action.sa_sigaction(signo, info, ucontext);
  } else if (g_previous_action.sa_handler != SIG_DFL && g_previous_action.sa_handler != SIG_IGN &&
             g_previous_action.sa_handler != nullptr) {
    g_previous_action.sa_handler(signo);
  }
  errno = saved_errno;
}

bool InstallHandlerOnce() {
  static std::once_flag once;
  static bool installed = false;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_sigaction = &OnSigurg;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    installed = sigaction(SIGURG, &action, &g_previous_action) == 0;
  });
  return installed;
}

}  // namespace

std::vector<ThreadStack> DumpThreads(std::chrono::milliseconds timeout) {
  static std::mutex one_dump_at_a_time;
  std::lock_guard<std::mutex> lock(one_dump_at_a_time);

  std::vector<pid_t> tids = ListThreads();
  std::vector<ThreadStack> result(tids.size());
  for (size_t i = 0; i < tids.size(); ++i) {
    result[i].tid = tids[i];
    result[i].name = ThreadName(tids[i]);
    result[i].state = ThreadStateLetter(tids[i]);
  }
  if (tids.empty() || !InstallHandlerOnce()) return result;
  WarmUpUnwinder();

  auto request = std::make_unique<DumpRequest>(tids.size());
  for (size_t i = 0; i < tids.size(); ++i) {
    request->slots[i].tid = tids[i];
    request->slots[i].state.store(kRequested, std::memory_order_relaxed);
    request->slots[i].depth = 0;
  }
  g_request.store(request.get(), std::memory_order_release);

  const pid_t pid = getpid();
  int expected_answers = 0;
  for (size_t i = 0; i < tids.size(); ++i) {
    // Asking a thread that blocks SIGURG would only make us wait for the timeout.
    result[i].blocks_signal = ThreadBlocksSignal(tids[i], SIGURG);
    if (result[i].blocks_signal) continue;
    if (syscall(SYS_tgkill, pid, tids[i], SIGURG) == 0) ++expected_answers;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int answered = request->answered.load(std::memory_order_acquire);
    if (answered >= expected_answers) break;
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds::zero()) break;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec wait{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    Futex(&request->answered, FUTEX_WAIT_PRIVATE, answered, &wait);
  }

  g_request.store(nullptr, std::memory_order_release);
  for (size_t i = 0; i < tids.size(); ++i) {
    DumpSlot& slot = request->slots[i];
    if (slot.state.load(std::memory_order_acquire) != kDone) continue;
    result[i].captured = true;
    result[i].pcs.assign(slot.pcs, slot.pcs + slot.depth);
    result[i].job_type = slot.job_type;
    result[i].queue = slot.queue;
  }
  // A handler that loaded the pointer just before it was cleared finishes within
  // microseconds. One that never finishes (its thread was stopped mid-handler) keeps using
  // the request, so the request is leaked rather than freed under it.
  const auto grace = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (g_in_handler.load(std::memory_order_acquire) != 0) {
    if (std::chrono::steady_clock::now() > grace) {
      static_cast<void>(request.release());  // deliberately leaked, see above
      break;
    }
    std::this_thread::yield();
  }
  return result;
}

}  // namespace bananas::obs::detail
