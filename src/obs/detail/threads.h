// The process's threads, as /proc/self/task lists them, with names and scheduler states.
//
// Listing /proc/self/task is how every thread gets profiled, including threads that Boost.Asio,
// hiredis or a plug-in created and that never called obs::RegisterThread (pprof-design.md Q3).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace bananas::obs::detail {

// Thread ids of this process, ascending. Empty only if /proc is not mounted.
std::vector<pid_t> ListThreads();

// /proc/self/task/<tid>/comm without the newline; "" once the thread has exited.
std::string ThreadName(pid_t tid);

// The state letter of /proc/self/task/<tid>/stat (R, S, D, T, t, Z, X, I), or '?' once the
// thread has exited.
char ThreadStateLetter(pid_t tid);

// True if the thread has `signo` blocked (/proc/self/task/<tid>/status, SigBlk). Such a
// thread is neither CPU-sampled (SIGPROF) nor dumped (SIGURG). Boost.Asio creates its internal
// helper threads (e.g. the resolver's) with every signal blocked.
bool ThreadBlocksSignal(pid_t tid, int signo);

// "running", "sleeping", "disk sleep", ... for a state letter, as the goroutine dump prints it.
const char* ThreadStateName(char letter);

// The calling thread's id (gettid). Async-signal-safe.
pid_t CurrentThreadId() noexcept;

}  // namespace bananas::obs::detail
