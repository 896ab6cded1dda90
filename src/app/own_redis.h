// OwnRedis: the redis-server child that `bananas dev` starts when REDIS_URL is unset.
//
// Lifetime, and the three ways the parent can end:
//   normal exit or SIGTERM/SIGINT  the parent calls Stop(): SIGTERM, wait up to
//                                  kStopTimeout for redis to fsync and exit, then SIGKILL.
//   a second signal                the parent sends SIGTERM and exits at once; redis, now
//                                  orphaned, still shuts down cleanly on its own.
//   SIGKILL of the parent          PR_SET_PDEATHSIG delivers SIGTERM to the child. Note: the
//                                  death signal follows the *thread* that forked, so Start()
//                                  must run on the main thread, which lives as long as the
//                                  process.
// The child runs in its own process group, so a Ctrl-C in the terminal reaches only the
// parent: redis must outlive the worker's shutdown, which hands running jobs back to it.
//
// Thread safety: none; owned by main().
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "bananas/status.h"

namespace bananas::app {

class OwnRedis {
 public:
  // kAppendOnly: AOF on, fsynced every second, so a dev queue survives restarts (dev).
  // kNone: nothing on disk, as the peer benchmark's Redis runs (bench).
  enum class Persistence { kAppendOnly, kNone };

  static constexpr std::chrono::seconds kStartTimeout{10};
  static constexpr std::chrono::seconds kStopTimeout{5};

  // Finds redis-server on PATH (FailedPrecondition, saying to run scripts/setup or set
  // REDIS_URL, when it is not there), creates `data_dir`, starts redis-server on a free
  // loopback port with RDB snapshots off (and AOF as `persistence` says), and waits until it
  // answers PING.
  // Unavailable, quoting the end of its log, when it exits or stays silent for kStartTimeout.
  // REQUIRES: called on the main thread (see PR_SET_PDEATHSIG above).
  [[nodiscard]] static Result<std::unique_ptr<OwnRedis>> Start(
      const std::string& data_dir, Persistence persistence = Persistence::kAppendOnly);

  OwnRedis(const OwnRedis&) = delete;
  OwnRedis& operator=(const OwnRedis&) = delete;
  ~OwnRedis();  // Stop()

  // "redis://127.0.0.1:<port>/0".
  std::string url() const;
  const std::string& data_dir() const { return data_dir_; }
  std::string log_path() const;
  pid_t pid() const { return pid_.load(); }

  // True (and reaps it) if the child has exited; for a SIGCHLD seen by the parent.
  bool Exited();
  // SIGTERM; SIGKILL after kStopTimeout. Idempotent.
  void Stop();
  // SIGTERM without waiting; async-signal-safe, for the second-signal exit path.
  void Abandon() const;

 private:
  OwnRedis() = default;
  [[nodiscard]] Status Launch(const std::string& binary);
  [[nodiscard]] Status AwaitPing();
  std::string LogTail() const;

  std::string data_dir_;
  Persistence persistence_ = Persistence::kAppendOnly;
  int port_ = 0;
  // Atomic for Abandon(), which runs on the second-signal thread while main may be in Stop().
  std::atomic<pid_t> pid_{-1};
};

}  // namespace bananas::app
