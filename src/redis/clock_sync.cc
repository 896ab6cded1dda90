#include "redis/clock_sync.h"

#include <algorithm>
#include <charconv>
#include <string>

#include "base/clock.h"
#include "redis/command.h"
#include "redis/connection.h"
#include "redis/reply.h"

namespace bananas::redis {
namespace {

bool ParseInt(const Reply& reply, int64_t* out) {
  if (reply.is_integer()) {
    *out = reply.integer;
    return true;
  }
  const char* begin = reply.str.data();
  const char* end = begin + reply.str.size();
  auto [ptr, ec] = std::from_chars(begin, end, *out);
  return ec == std::errc() && ptr == end && begin != end;
}

}  // namespace

ClockSample SampleOf(int64_t sent_us, int64_t received_us, int64_t redis_seconds,
                     int64_t redis_micros) {
  // Redis read its clock somewhere inside the round trip; the midpoint is the best guess,
  // wrong by at most half the round trip.
  int64_t midpoint_us = sent_us + (received_us - sent_us) / 2;
  ClockSample sample;
  sample.offset_us = redis_seconds * 1'000'000 + redis_micros - midpoint_us;
  sample.round_trip_us = received_us - sent_us;
  return sample;
}

Result<ClockSample> MeasureClockOffset(Connection& connection, int samples) {
  samples = std::max(samples, 1);
  ClockSample best;
  bool have = false;
  for (int i = 0; i < samples; ++i) {
    int64_t sent = SystemUnixUs();
    auto reply = connection.Run(Command("TIME"));
    int64_t received = SystemUnixUs();
    if (!reply) return reply.status().WithContext("redis.MeasureClockOffset");
    int64_t seconds = 0;
    int64_t micros = 0;
    if (!reply->is_array() || reply->elements.size() != 2 ||
        !ParseInt(reply->elements[0], &seconds) || !ParseInt(reply->elements[1], &micros)) {
      return Status::Internal("redis.MeasureClockOffset: unexpected TIME reply " +
                              reply->Describe());
    }
    ClockSample sample = SampleOf(sent, received, seconds, micros);
    if (!have || sample.round_trip_us < best.round_trip_us) best = sample;
    have = true;
  }
  return best;
}

Result<std::unique_ptr<ClockFollower>> ClockFollower::Start(const Options& redis,
                                                            ClockFollowerOptions options) {
  if (!options.on_sample) {
    return Status::InvalidArgument("redis.ClockFollower: on_sample is required");
  }
  if (options.period.count() <= 0 || options.first_after.count() <= 0) {
    return Status::InvalidArgument("redis.ClockFollower: period and first_after must be > 0");
  }
  auto connection = Connection::Open(redis);
  if (!connection) return connection.status().WithContext("redis.ClockFollower");
  return std::unique_ptr<ClockFollower>(
      new ClockFollower(std::move(*connection), std::move(options)));
}

ClockFollower::ClockFollower(std::unique_ptr<Connection> connection, ClockFollowerOptions options)
    : connection_(std::move(connection)), options_(std::move(options)) {
  thread_ = std::thread([this] { Loop(); });
}

ClockFollower::~ClockFollower() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ClockFollower::Loop() {
  std::chrono::milliseconds wait = options_.first_after;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, wait, [this] { return stop_; })) return;
    }
    auto sample = MeasureClockOffset(*connection_, options_.samples);
    if (sample) {
      options_.on_sample(*sample);
      wait = options_.period;
    } else {
      if (options_.on_error) options_.on_error(sample.status());
      wait = std::min(options_.period, options_.first_after);
    }
  }
}

}  // namespace bananas::redis
