// PprofHandlers: Go's net/http/pprof endpoints over our collectors.
//
// Serve() takes any path under /debug/pprof/ and answers as Go's pprof.Index does: "" is the
// HTML index, a known name is that profile, anything else 404 "Unknown profile". Behaviour
// copied from Go 1.19 (net/http/pprof/pprof.go), since `go tool pprof` and Pyroscope are
// written against it:
//   - errors are text/plain with header X-Go-Pprof: 1, which makes pprof print the body;
//   - profiles are application/octet-stream with Content-Disposition attachment;
//   - ?debug=N (N > 0) switches to the legacy text formats;
//   - ?seconds=N on the CPU profile is its duration (invalid or <= 0 means 30); on heap,
//     allocs, goroutine, mutex, block and threadcreate it returns the delta over N seconds.
//
// To add a profile: a row in kProfiles (index and routing), its proto in CollectProfile, its
// ?debug=1 text in CollectText, and IsDeltaCapable if its values are cumulative; then a
// check in tests/integration/obs/pprof_endpoints_test.cc run with `go tool pprof`.
//
// Thread safety: Serve may run concurrently on many threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "obs/admin_server.h"
#include "obs/detail/symbolizer.h"

namespace bananas::obs::detail {

class PprofHandlers {
 public:
  explicit PprofHandlers(std::chrono::seconds max_profile_duration)
      : max_profile_duration_(max_profile_duration) {}

  // `request.path` starts with "/debug/pprof/".
  AdminResponse Serve(const AdminRequest& request);

  // Ends CPU and delta profiles in progress (they answer 503) and refuses new ones.
  void Stop();

  // Frees symbol tables nobody used for `idle`; the owner calls it periodically.
  void DropIdleState(std::chrono::steady_clock::duration idle) { symbolizer_.DropIfIdle(idle); }

 private:
  AdminResponse Index();
  AdminResponse CpuProfile(const AdminRequest& request);
  AdminResponse NamedProfile(const std::string& name, const AdminRequest& request);
  AdminResponse Symbol(const AdminRequest& request);
  AdminResponse Cmdline();
  // Waits `duration` unless Stop() comes first; false if stopped.
  bool WaitUnlessStopped(std::chrono::seconds duration);

  const std::chrono::seconds max_profile_duration_;
  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  SharedSymbolizer symbolizer_;
};

// The NUL-separated command line with secrets masked: the password of any scheme://user:pw@
// URL argument and the value of --api-token. Exposed for tests.
std::string MaskCommandLine(std::string_view args);

// Go's serveError: status, X-Go-Pprof: 1, text/plain, the message and a newline.
AdminResponse PprofError(int status, std::string_view message);

}  // namespace bananas::obs::detail
