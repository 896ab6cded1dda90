// Shutdown signals for the long-running subcommands.
//
// Order, and why: BlockShutdownSignals() runs first in main(), before any thread exists, so
// every thread inherits the mask and SIGTERM/SIGINT can only be taken by sigwait() — never by
// a pool thread in the middle of a handler, and never by a default action that would kill
// the process before jobs are handed back. Then the service starts, the main thread calls
// WaitForSignal(), and, once shutdown begins, ExitOnSecondSignal() arms the escape hatch: a
// second SIGTERM/SIGINT ends the process at once with exit code 1.
//
// Children forked after BlockShutdownSignals() inherit the blocked mask and the ignored
// SIGPIPE across exec: call RestoreChildSignals() in the child before exec.
#pragma once

#include <functional>
#include <string>

namespace bananas::app {

// Blocks SIGTERM, SIGINT and SIGCHLD in the calling thread and ignores SIGPIPE (a peer
// closing a socket is an error return, not a death). Call before creating any thread.
void BlockShutdownSignals();

// In a forked child, before exec: the default mask and SIGPIPE disposition. Async-signal-safe.
void RestoreChildSignals();

// Blocks until SIGTERM or SIGINT (or SIGCHLD when `include_children`) arrives; returns it.
int WaitForSignal(bool include_children);

// "SIGTERM", "SIGINT", "SIGCHLD" or "signal N".
std::string SignalName(int signal);

// Starts a detached thread that waits for the next SIGTERM/SIGINT; when it comes it runs
// `last_words` (must be quick: e.g. signal a child), prints one line and _exit(1)s.
void ExitOnSecondSignal(std::function<void()> last_words);

// Flushes stdout and stderr and ends the process with `code`, running no static destructors:
// handlers that ignored cancellation may still run on detached threads (Worker::Wait says
// so), and a destructor racing them would be worse than not running at all.
[[noreturn]] void ExitNow(int code);

}  // namespace bananas::app
