#include "app/signals.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

namespace bananas::app {
namespace {

sigset_t SignalSet(bool include_children) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (include_children) sigaddset(&set, SIGCHLD);
  return set;
}

}  // namespace

void BlockShutdownSignals() {
  // SIGCHLD is blocked too: a blocked SIGCHLD stays pending (an unblocked one with the default
  // disposition is discarded), so dev can sigwait() for its redis-server dying.
  sigset_t set = SignalSet(/*include_children=*/true);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

void RestoreChildSignals() {
  sigset_t empty;
  sigemptyset(&empty);
  sigprocmask(SIG_SETMASK, &empty, nullptr);
  signal(SIGPIPE, SIG_DFL);
}

int WaitForSignal(bool include_children) {
  sigset_t set = SignalSet(include_children);
  int signal = 0;
  while (sigwait(&set, &signal) != 0) {
  }
  return signal;
}

std::string SignalName(int signal) {
  switch (signal) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGCHLD:
      return "SIGCHLD";
    default:
      return "signal " + std::to_string(signal);
  }
}

void ExitOnSecondSignal(std::function<void()> last_words) {
  std::thread([last_words = std::move(last_words)] {
    int signal = WaitForSignal(/*include_children=*/false);
    if (last_words) last_words();
    std::fprintf(stderr, "%s again: exiting now, without waiting for running jobs\n",
                 SignalName(signal).c_str());
    ExitNow(1);
  }).detach();
}

void ExitNow(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(code);
}

}  // namespace bananas::app
