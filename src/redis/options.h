// Connection settings for one Redis endpoint, parsed from a REDIS_URL.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "bananas/status.h"

namespace bananas::obs {
class Metrics;
}

namespace bananas::redis {

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  // AUTH: with a username, AUTH user pass (ACL, Redis 6+); with only a password, AUTH pass.
  std::string username;
  std::string password;
  int db = 0;
  // rediss:// sets this. The transport is plain TCP today; the field exists so that a TLS
  // transport slots in under Connection without changing callers. Open() refuses it for now.
  bool tls = false;
  // Bounds the TCP connect plus the AUTH/SELECT handshake.
  std::chrono::milliseconds connect_timeout{2000};
  // Bounds one write-then-read round trip of a non-blocking command or pipeline. Blocking
  // commands add their own timeout to it.
  std::chrono::milliseconds io_timeout{5000};
  // Reconnect backoff after a failed connect: first wait, then doubled up to the cap.
  std::chrono::milliseconds reconnect_initial{50};
  std::chrono::milliseconds reconnect_max{5000};
  // Where connections record round trips (blocking commands excluded: their time is the
  // wait), I/O errors and open connections. Null: nothing recorded. Not part of the URL.
  std::shared_ptr<obs::Metrics> metrics;

  // Parses redis://[user:pass@]host[:port][/db] and rediss://...; query parameters
  // connect_timeout=2s and io_timeout=5s (durations as in SPEC §1) are accepted.
  // InvalidArgument names what is wrong, never echoing the password.
  static Result<Options> FromUrl(std::string_view url);

  // "host:port/db" (with "user@" when set): safe to log, never holds the password.
  std::string Endpoint() const;
};

// Masks the password of a redis:// URL ("redis://user:***@host:6379/0"); returns the input
// unchanged when it holds none. Used everywhere a URL might be printed.
std::string RedactUrl(std::string_view url);

}  // namespace bananas::redis
