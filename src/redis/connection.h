// Connection: one TCP connection to Redis, synchronous, with explicit pipelining.
//
// Entry points, in the order a caller meets them:
//   Open()     parses nothing (see Options::FromUrl), connects, AUTHs, SELECTs; a failure to
//              connect is not fatal: the connection starts broken and reconnects on use.
//   Run()      one command or a Pipeline (one write, one read of N replies).
//   Eval()     EVALSHA of a Script; on NOSCRIPT it sends SCRIPT LOAD and retries once.
//   Blocking() a blocking command (BLPOP, BZPOPMIN) whose server-side timeout is added to the
//              I/O deadline. Give blocking commands their own Connection: while one waits, the
//              connection can do nothing else.
//
// Failure model. Every call has a deadline (Options::io_timeout, plus the blocking timeout).
// An I/O error or a timeout closes the socket and returns Unavailable naming the command and
// the endpoint; the command is NOT re-sent, since it may have been applied (a write is not
// idempotent in general). The next call reconnects, but no sooner than the capped exponential
// backoff allows: it sleeps until then, so a caller's retry loop is paced without sleeping on
// its own. A Redis error reply is not a connection failure, and is classified once, by
// errors.h: one that means "not now" (LOADING, BUSY, READONLY, ...: the command did not run)
// becomes Unavailable, like a connection failure, and OOM becomes ResourceExhausted ("Redis
// is full"), from Run(), Blocking() and Eval() alike, so that every caller's retry-later path
// (redis::IsRetryable) covers them. Any other error reply comes back from Run() as a Reply of
// type kError; Eval() turns it into a Status.
//
// Thread safety: none. One Connection belongs to one thread at a time.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bananas/status.h"
#include "redis/command.h"
#include "redis/options.h"
#include "redis/reply.h"
#include "redis/script.h"

namespace bananas::redis {

class Connection {
 public:
  // Never fails for an unreachable server (see above); fails only for options it cannot use
  // (tls today).
  [[nodiscard]] static Result<std::unique_ptr<Connection>> Open(const Options& options);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // One command. Unavailable on I/O failure or a transient error reply, ResourceExhausted on
  // OOM; any other Redis error comes back as a kError reply.
  [[nodiscard]] Result<Reply> Run(const Command& command);
  // Sends every command in one write and reads all replies. Unavailable if any byte of the
  // round trip failed (then none of the replies is returned); likewise a non-OK Status when
  // any reply is a transient or OOM error reply (the other commands may have run). Other
  // error replies stay in their slots.
  [[nodiscard]] Result<std::vector<Reply>> Run(const Pipeline& pipeline);
  // A blocking command whose own timeout is `block_for` (0 would block forever; callers
  // must pass a bound). The I/O deadline is block_for + io_timeout.
  [[nodiscard]] Result<Reply> Blocking(const Command& command,
                                       std::chrono::milliseconds block_for);

  // EVALSHA script keys... args...; loads the script on NOSCRIPT and retries once.
  // A Redis error reply becomes Internal("script <name>: <error>") unless it starts with
  // "BANANAS " (our scripts' deliberate errors), which becomes InvalidArgument, or it is a
  // transient or OOM reply (the script did not run): Unavailable or ResourceExhausted.
  [[nodiscard]] Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                                   const std::vector<std::string>& args);
  // Many EVALSHA calls in one pipeline (any scripts, each with its keys and args). Loads any
  // script that answered NOSCRIPT and re-sends only those calls. Replies in order; error
  // replies, transient ones included, are left in place for the caller, who classifies each
  // with ErrorReplyStatus() (errors.h): one call refused does not mean the others did not run.
  struct EvalCall {
    const Script* script;
    std::vector<std::string> keys;
    std::vector<std::string> args;
  };
  [[nodiscard]] Result<std::vector<Reply>> EvalMany(const std::vector<EvalCall>& calls);

  // Reads the next reply the server sends unasked: a pub/sub message after (S)SUBSCRIBE.
  // DeadlineExceeded when none came within `timeout` (the connection stays usable);
  // Unavailable when the connection failed.
  [[nodiscard]] Result<Reply> ReadPush(std::chrono::milliseconds timeout);

  // Connects now if broken (respecting the backoff). OK when connected.
  [[nodiscard]] Status EnsureConnected();
  bool connected() const;
  const Options& options() const;
  // Number of successful (re)connects so far; tests use it to see a reconnect happen.
  int connect_count() const;

 private:
  class Impl;
  explicit Connection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bananas::redis
