#include "obs/detail/thread_state.h"

#include <atomic>

namespace bananas::obs::detail {
namespace {

// constinit + trivially destructible: no TLS wrapper or guard, so a handler may touch it.
// initial-exec: the address is a fixed offset from the thread pointer (no __tls_get_addr).
constinit thread_local ThreadState tls_state __attribute__((tls_model("initial-exec"))) = {};

}  // namespace

ThreadState& CurrentThreadState() noexcept { return tls_state; }

void CopyLabels(const ThreadState& state, char (&job_type)[kLabelBytes],
                char (&queue)[kLabelBytes]) noexcept {
  job_type[0] = '\0';
  queue[0] = '\0';
  if (!state.labels_set) return;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  for (std::size_t i = 0; i < kLabelBytes; ++i) {
    job_type[i] = state.job_type[i];
    queue[i] = state.queue[i];
  }
}

}  // namespace bananas::obs::detail
