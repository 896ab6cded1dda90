// Thread dump: the stack of every thread of the process, for /debug/pprof/goroutine.
//
// C++ has no goroutines; a thread is the unit that can leak, block or pile up, so the
// "goroutine" profile lists threads. DumpThreads sends SIGURG to each thread with tgkill;
// each handler finds its own slot by thread id, unwinds from its ucontext (unwind.h), copies
// its job labels and wakes the dumper with a futex. SIGURG because its default action is to
// ignore (a stray one is harmless) and nothing else here uses it; Go's runtime chose it for
// the same reason. Threads that block SIGURG are not asked, and threads that do not answer
// within the timeout (stopped, in uninterruptible sleep) are listed without a stack.
//
// Side effect (pitfall P4): the signal makes blocking calls such as epoll_wait, poll and
// nanosleep return EINTR even with SA_RESTART. Asio, libstdc++'s sleep_for and our own loops
// retry; code that treats EINTR as an error must not.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace bananas::obs::detail {

struct ThreadStack {
  pid_t tid = 0;
  std::string name;
  char state = '?';            // /proc state letter
  bool captured = false;       // false: no stack (see blocks_signal); pcs is empty
  bool blocks_signal = false;  // the thread blocks SIGURG, so it was not asked
  std::vector<uint64_t> pcs;
  std::string job_type;  // obs::SetJobLabels, if set on that thread
  std::string queue;
};

// Stacks of all threads, in tid order. One dump at a time (callers are serialised).
std::vector<ThreadStack> DumpThreads(std::chrono::milliseconds timeout);

}  // namespace bananas::obs::detail
