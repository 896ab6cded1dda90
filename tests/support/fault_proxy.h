// FaultProxy: a TCP proxy for tests that sits between Bananas and a real redis-server and
// misbehaves on command: it delays commands, swallows traffic (a blackhole), resets
// connections, refuses new ones, and answers chosen commands with error replies such as
// "-LOADING ..." or "-OOM ..." instead of passing them on.
//
// It reads RESP requests (arrays of bulk strings, and inline commands) so that it can act per
// command: an injected error replaces exactly that command's reply (the command never reaches
// Redis) and pipelined replies stay in order. Redis's replies are framed too (RESP2, and the
// RESP3 types) to keep that order.
//
// Entry points: Start(upstream port) listens on a free loopback port; point a client at url().
// Every setter applies from the next command or connection on and may be called from any
// thread while traffic flows; ClearAll() restores a transparent proxy.
//
// Limits: one connection's replies are matched to its commands in order, so a connection in
// subscribe mode (SUBSCRIBE, SSUBSCRIBE: several replies to one command, then pushes) should
// not get injected errors; its traffic still passes through unchanged. Inline commands are
// split on spaces (no quoting).
//
// Threads: one thread polls every socket; the destructor stops it and closes everything.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bananas/status.h"

namespace bananas::testing {

// Error replies a Redis sends when it cannot serve a command now, as it words them (without
// the leading '-' and the CRLF). Each test of "rides out every error class" walks this list.
struct RedisErrorReply {
  const char* name;  // the first word: the class
  const char* text;  // the whole reply
};
inline constexpr RedisErrorReply kRedisErrorReplies[] = {
    {"LOADING", "LOADING Redis is loading the dataset in memory"},
    {"BUSY",
     "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."},
    {"OOM", "OOM command not allowed when used memory > 'maxmemory'."},
    {"READONLY", "READONLY You can't write against a read only replica."},
    {"MASTERDOWN",
     "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."},
    {"TRYAGAIN", "TRYAGAIN Multiple keys request during rehashing of slot"},
    {"CLUSTERDOWN", "CLUSTERDOWN The cluster is down"},
};
// For GoogleTest's names of parameterized cases.
inline void PrintTo(const RedisErrorReply& error, std::ostream* out) { *out << error.name; }

class FaultProxy {
 public:
  // Listens on 127.0.0.1 on a free port and forwards each accepted connection to
  // upstream_host:upstream_port (connected at accept time; a refused upstream closes the
  // client).
  [[nodiscard]] static Result<std::unique_ptr<FaultProxy>> Start(
      int upstream_port, std::string upstream_host = "127.0.0.1");
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  // "redis://127.0.0.1:<port>/<db>".
  std::string url(int db = 0) const;

  // Each command is passed on (or answered with an injected error) `delay` after it arrived;
  // commands keep their order. Replies are not held further. Zero: no delay.
  void SetDelay(std::chrono::milliseconds delay);
  // While on, commands are swallowed (they never reach Redis) and nothing is sent back to
  // clients, not even replies of commands passed on before: a silent network. Connections
  // stay open and new ones are accepted.
  void SetBlackhole(bool on);
  // Closes every open connection now, with a TCP reset towards the client.
  void ResetConnections();
  // While on, a new connection is accepted and reset at once, as a Redis that is down.
  void SetRefuseConnections(bool on);

  // Answers matching commands with `error` instead of passing them on.
  struct ErrorRule {
    std::string command;   // the command name, any case; empty: every command
    std::string argument;  // when set, only commands with an argument equal to it (a sha1)
    std::string error;     // the reply without '-' and CRLF: "LOADING Redis is loading ..."
    int count = -1;        // the next `count` matching commands; -1: until ClearErrors()
  };
  // Rules are tried in the order added; the first that matches answers.
  void InjectError(ErrorRule rule);
  void ClearErrors();
  // Transparent again: no delay, blackhole, refusal or error rule.
  void ClearAll();

  // Error replies injected so far.
  int64_t injected() const { return injected_.load(); }
  // Complete commands read from clients so far.
  int64_t commands() const { return commands_.load(); }
  // Client connections open now.
  int connections() const { return connections_.load(); }

 private:
  struct Pair;
  FaultProxy() = default;
  void Loop();
  void Accept();
  // Chooses the injected error for a command, if a rule matches (counts it down).
  bool MatchRule(const std::vector<std::string>& args, std::string& error);
  void ReadClient(Pair& pair);
  void ReadUpstream(Pair& pair);
  void Release(Pair& pair, std::chrono::steady_clock::time_point now);
  void FlushInjected(Pair& pair);
  void Wake();

  int port_ = 0;
  int upstream_port_ = 0;
  std::string upstream_host_;
  int listener_ = -1;
  int wake_fd_ = -1;  // eventfd: a setting changed or the destructor runs
  std::thread thread_;
  std::atomic<bool> stop_{false};

  // Settings, guarded by mu_.
  std::mutex mu_;
  std::chrono::milliseconds delay_{0};
  bool blackhole_ = false;
  bool refuse_ = false;
  uint64_t reset_generation_ = 0;
  std::vector<ErrorRule> rules_;

  // Owned by the loop thread.
  std::vector<std::unique_ptr<Pair>> pairs_;
  uint64_t seen_reset_generation_ = 0;

  std::atomic<int64_t> injected_{0};
  std::atomic<int64_t> commands_{0};
  std::atomic<int> connections_{0};
};

}  // namespace bananas::testing
