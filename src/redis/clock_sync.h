// Clock sync: how far this host's clock is from Redis' clock (TIME), so that every service
// stamps and compares job times (lease deadlines, due times, idle registrations) on one clock
// whatever the skew between hosts (DECISIONS.md, "Clocks follow Redis").
//
// Entry points:
//   MeasureClockOffset()  a few TIME round trips on a caller's connection; the sample with the
//                         smallest round trip wins (its error is at most half of it)
//   ClockFollower         its own connection and thread: measures at start and every period,
//                         and hands each measurement to a callback (the app sets the process's
//                         clock offset from it, base/clock.h SetClockOffsetUs)
//
// offset = Redis' time - this host's system clock at the midpoint of the round trip; adding it
// to the system clock gives Redis' clock.
//
// Thread safety: MeasureClockOffset is a function over one caller-owned Connection;
// ClockFollower's callbacks run on its own thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "bananas/status.h"
#include "redis/options.h"

namespace bananas::redis {

class Connection;

struct ClockSample {
  int64_t offset_us = 0;      // Redis' clock - this host's system clock
  int64_t round_trip_us = 0;  // of the TIME call measured; the offset is good to half of it
};

// One sample from a TIME round trip: sent and received on this host's system clock (µs),
// Redis' reply as its two parts (seconds, microseconds). I/O-free, for tests.
ClockSample SampleOf(int64_t sent_us, int64_t received_us, int64_t redis_seconds,
                     int64_t redis_micros);

// `samples` TIME calls (at least 1); the one with the smallest round trip. Unavailable when
// Redis does not answer; Internal for a reply that is not TIME's.
[[nodiscard]] Result<ClockSample> MeasureClockOffset(Connection& connection, int samples = 5);

struct ClockFollowerOptions {
  // How often the offset is measured again (clocks drift, NTP steps them).
  std::chrono::milliseconds period{std::chrono::seconds(30)};
  // The first measurement, after the start; then every `period`. A failed one is retried
  // after min(period, first_after).
  std::chrono::milliseconds first_after{std::chrono::seconds(30)};
  int samples = 5;  // TIME calls per measurement
  // Each measurement, from the follower's thread. Required.
  std::function<void(const ClockSample&)> on_sample;
  // A failed measurement (Redis down); the next comes a period later. Optional.
  std::function<void(const Status&)> on_error;
};

// Measures the offset every `period` on its own connection until destroyed.
class ClockFollower {
 public:
  // The first measurement is `first_after` after the start: measure once yourself first (the
  // app does, before its services start). InvalidArgument for options it cannot use.
  [[nodiscard]] static Result<std::unique_ptr<ClockFollower>> Start(const Options& redis,
                                                                    ClockFollowerOptions options);
  ClockFollower(const ClockFollower&) = delete;
  ClockFollower& operator=(const ClockFollower&) = delete;
  ~ClockFollower();  // stops and joins: returns within one Redis round trip

 private:
  ClockFollower(std::unique_ptr<Connection> connection, ClockFollowerOptions options);
  void Loop();

  std::unique_ptr<Connection> connection_;  // the loop's only
  const ClockFollowerOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // Guarded by mu_.
  std::thread thread_;
};

}  // namespace bananas::redis
