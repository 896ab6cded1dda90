// A real redis-server for tests: started on a free loopback port in its own temporary data
// directory, stopped (and the directory removed) on destruction. Never a mock, never a server
// someone else left running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bananas/status.h"

namespace bananas::testing {

struct RedisServerOptions {
  bool appendonly = false;        // AOF on (tests of restarts keep data across Stop/Start)
  std::vector<std::string> extra_args;  // e.g. {"--maxmemory-policy", "allkeys-lru"}
  std::string data_dir;           // empty: a fresh mkdtemp directory, removed at the end
};

class RedisServer {
 public:
  // Starts redis-server and waits (bounded) until it answers PING.
  [[nodiscard]] static Result<std::unique_ptr<RedisServer>> Start(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string url(int db = 0) const;
  const std::string& data_dir() const { return data_dir_; }
  pid_t pid() const { return pid_; }

  // Graceful stop (SIGTERM, wait). Start() again on the same port and data directory.
  void Stop();
  // SIGKILL, as a crash.
  void Kill();
  [[nodiscard]] Status Restart();
  bool running() const { return pid_ > 0; }

  // Runs a command through redis-cli and returns its stdout (trimmed); for assertions.
  std::string Cli(const std::vector<std::string>& args) const;

 private:
  RedisServer() = default;
  [[nodiscard]] Status Launch();

  RedisServerOptions options_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string data_dir_;
  bool own_dir_ = false;
};

// A free TCP port on 127.0.0.1 at the time of the call.
int FreePort();

}  // namespace bananas::testing
