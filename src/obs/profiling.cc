#include "obs/profiling.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <string>

#include "obs/detail/thread_state.h"
#include "obs/detail/unwind.h"

namespace bananas::obs {
namespace {

void CopyCut(std::string_view value, char (&out)[detail::kLabelBytes]) {
  size_t n = value.size() < detail::kLabelBytes - 1 ? value.size() : detail::kLabelBytes - 1;
  for (size_t i = 0; i < n; ++i) out[i] = value[i];
  out[n] = '\0';
}

}  // namespace

void RegisterThread(std::string_view name) {
  if (!name.empty()) {
    std::string cut(name.substr(0, 15));  // the kernel's TASK_COMM_LEN is 16 with the NUL
    pthread_setname_np(pthread_self(), cut.c_str());
  }
  sigset_t profiling_signals;
  sigemptyset(&profiling_signals);
  sigaddset(&profiling_signals, SIGPROF);
  sigaddset(&profiling_signals, SIGURG);
  pthread_sigmask(SIG_UNBLOCK, &profiling_signals, nullptr);
  detail::RecordStackBounds();
}

void SetJobLabels(std::string_view job_type, std::string_view queue) noexcept {
  detail::ThreadState& state = detail::CurrentThreadState();
  // A handler interrupting us between the two stores of labels_set sees "unset", never a
  // half-written value; the fences keep the compiler from moving the copies across them.
  state.labels_set = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  CopyCut(job_type, state.job_type);
  CopyCut(queue, state.queue);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  state.labels_set = 1;
}

void ClearJobLabels() noexcept {
  detail::CurrentThreadState().labels_set = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

}  // namespace bananas::obs
