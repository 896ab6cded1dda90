// Process: runs a program for an end-to-end test, captures its stdout and stderr as they
// come, and waits on its output or its exit through a condition variable (never a sleep).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bananas/status.h"

namespace bananas::testing {

struct ProcessOptions {
  std::vector<std::string> args;  // args[0]: the program's path
  // Changes to the test's own environment: a value sets the variable, nullopt unsets it.
  std::map<std::string, std::optional<std::string>> env;
};

class Process {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Process>> Start(ProcessOptions options);
  ~Process();  // SIGKILL if still running, then reaps it
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  std::string out() const;  // stdout so far
  std::string err() const;  // stderr so far
  // Both, labelled: for failure messages.
  std::string Output() const;

  // True once stdout holds `text`; false if the process exited or `timeout` passed first.
  bool WaitForStdout(std::string_view text,
                     std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void Signal(int signal) const;
  // The exit code (128 + N when killed by signal N), or nullopt if still running at `timeout`.
  // Once it returns a code, out() and err() hold everything the process wrote.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout = std::chrono::seconds(60));

 private:
  Process() = default;
  void Read(int fd, std::string* into);

  pid_t pid_ = -1;
  std::thread stdout_reader_;
  std::thread stderr_reader_;
  std::thread reaper_;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::string out_;               // Guarded by mu_.
  std::string err_;               // Guarded by mu_.
  std::optional<int> exit_code_;  // Guarded by mu_.
  bool stdout_closed_ = false;    // Guarded by mu_.
  bool stderr_closed_ = false;    // Guarded by mu_.
};

// Runs a program to its end (bounded by `timeout`); the Process holds its output.
std::unique_ptr<Process> RunToExit(ProcessOptions options,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(60));

// The text after `prefix` on the first stdout line starting with it, up to the first space.
std::string Field(const std::string& text, std::string_view prefix);

// True when nothing accepts TCP connections on 127.0.0.1:port.
bool PortRefuses(int port);

// A fresh directory under the temp dir, removed with the object.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace bananas::testing
