// redis/clock_sync.h against a real redis-server on this host: the clocks are the same one,
// so the measured offset is small (bounded generously: the test machine is shared and noisy).
#include "redis/clock_sync.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>

#include "redis/connection.h"
#include "redis_server.h"
#include "test_util.h"

namespace bananas::redis {
namespace {

using bananas::testing::RedisServer;
using bananas::testing::WaitFor;
using std::chrono::milliseconds;

constexpr int64_t kSameHostBoundUs = 1'000'000;

std::unique_ptr<RedisServer> StartServer() {
  Result<std::unique_ptr<RedisServer>> server = RedisServer::Start();
  EXPECT_OK(server);
  return server.ok() ? std::move(*server) : nullptr;
}

TEST(MeasureClockOffset, SameHostIsNearZeroAndKeepsTheShortestRoundTrip) {
  std::unique_ptr<RedisServer> server = StartServer();
  ASSERT_NE(server, nullptr);
  Result<Options> options = Options::FromUrl(server->url());
  ASSERT_OK(options);
  Result<std::unique_ptr<Connection>> connection = Connection::Open(*options);
  ASSERT_OK(connection);
  Result<ClockSample> sample = MeasureClockOffset(**connection, 5);
  ASSERT_OK(sample);
  EXPECT_LT(std::llabs(sample->offset_us), kSameHostBoundUs) << sample->offset_us;
  EXPECT_GE(sample->round_trip_us, 0);
  EXPECT_LT(sample->round_trip_us, kSameHostBoundUs);
}

TEST(MeasureClockOffset, UnreachableRedisIsUnavailable) {
  Result<Options> options = Options::FromUrl("redis://127.0.0.1:1/0");
  ASSERT_OK(options);
  options->connect_timeout = milliseconds(200);
  Result<std::unique_ptr<Connection>> connection = Connection::Open(*options);
  ASSERT_OK(connection);
  Result<ClockSample> sample = MeasureClockOffset(**connection, 2);
  ASSERT_FALSE(sample.ok());
  EXPECT_TRUE(sample.status().IsUnavailable()) << sample.status().ToString();
}

TEST(ClockFollower, MeasuresPeriodicallyUntilDestroyed) {
  std::unique_ptr<RedisServer> server = StartServer();
  ASSERT_NE(server, nullptr);
  Result<Options> options = Options::FromUrl(server->url());
  ASSERT_OK(options);
  std::atomic<int> samples{0};
  std::atomic<int64_t> last_offset{0};
  ClockFollowerOptions follow;
  follow.period = milliseconds(20);
  follow.first_after = milliseconds(10);
  follow.on_sample = [&](const ClockSample& s) {
    last_offset = s.offset_us;
    ++samples;
  };
  Result<std::unique_ptr<ClockFollower>> follower =
      ClockFollower::Start(*options, std::move(follow));
  ASSERT_OK(follower);
  EXPECT_TRUE(WaitFor([&] { return samples.load() >= 3; }));
  EXPECT_LT(std::llabs(last_offset.load()), kSameHostBoundUs);
  follower->reset();  // stops and joins at once, though a period is due any moment
}

TEST(ClockFollower, RejectsMissingCallback) {
  Result<Options> options = Options::FromUrl("redis://127.0.0.1:6379/0");
  ASSERT_OK(options);
  auto follower = ClockFollower::Start(*options, ClockFollowerOptions{});
  ASSERT_FALSE(follower.ok());
  EXPECT_TRUE(follower.status().IsInvalidArgument());
}

}  // namespace
}  // namespace bananas::redis
