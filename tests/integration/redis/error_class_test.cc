// Connection classifies Redis error replies once (redis/errors.h), whichever call meets them:
// through a FaultProxy answering each class, Run, a Pipeline, Blocking and Eval all return
// Unavailable (ResourceExhausted for OOM) naming the command, the connection stays up, and a
// permanent error reply is still a Reply (Run) or an Internal status (Eval).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "fault_proxy.h"
#include "redis/connection.h"
#include "redis/errors.h"
#include "redis_server.h"
#include "test_util.h"

namespace bananas::redis {
namespace {

using bananas::testing::FaultProxy;
using bananas::testing::RedisErrorReply;
using bananas::testing::RedisServer;
using std::chrono::milliseconds;

class ErrorClassTest : public ::testing::TestWithParam<RedisErrorReply> {
 protected:
  static RedisServer& Server() {
    static std::unique_ptr<RedisServer> server = [] {
      auto s = RedisServer::Start();
      if (!s) std::abort();
      return std::move(*s);
    }();
    return *server;
  }

  void SetUp() override {
    auto proxy = FaultProxy::Start(Server().port());
    ASSERT_OK(proxy);
    proxy_ = std::move(*proxy);
    auto options = Options::FromUrl(proxy_->url());
    ASSERT_OK(options);
    auto connection = Connection::Open(*options);
    ASSERT_OK(connection);
    connection_ = std::move(*connection);
  }

  // The status every call must return for the class under test.
  void ExpectClassified(const Status& status, std::string_view command) {
    const RedisErrorReply& error = GetParam();
    EXPECT_TRUE(IsRetryable(status)) << status.ToString();
    EXPECT_EQ(IsRedisFull(status), std::string_view(error.name) == "OOM") << status.ToString();
    EXPECT_NE(status.message().find(error.text), std::string::npos) << status.ToString();
    EXPECT_NE(status.message().find(command), std::string::npos) << status.ToString();
  }

  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<Connection> connection_;
};

TEST_P(ErrorClassTest, EveryCallReturnsTheClassifiedStatus) {
  const RedisErrorReply& error = GetParam();
  proxy_->InjectError({"", "", error.text, -1});

  auto one = connection_->Run(Command("SET").Arg("k").Arg("v"));
  ASSERT_FALSE(one.ok());
  ExpectClassified(one.status(), "SET");

  Pipeline pipeline;
  pipeline.Add(Command("GET").Arg("k")).Add(Command("GET").Arg("k"));
  auto many = connection_->Run(pipeline);
  ASSERT_FALSE(many.ok());
  ExpectClassified(many.status(), "GET");

  auto blocked = connection_->Blocking(Command("BLPOP").Arg("l").Arg(1), milliseconds(1000));
  ASSERT_FALSE(blocked.ok());
  ExpectClassified(blocked.status(), "BLPOP");

  Script script("touch", "return redis.call('SET', KEYS[1], 'x')");
  auto evaluated = connection_->Eval(script, {"k"}, {});
  ASSERT_FALSE(evaluated.ok());
  ExpectClassified(evaluated.status(), "touch");

  // EvalMany leaves each reply in its slot; the caller classifies it the same way.
  auto calls = connection_->EvalMany({{&script, {"k"}, {}}});
  ASSERT_OK(calls);
  ASSERT_TRUE((*calls)[0].is_error());
  ExpectClassified(ErrorReplyStatus((*calls)[0].str), "");

  // An error reply is no connection failure: the same connection serves once it clears.
  proxy_->ClearErrors();
  ASSERT_OK(connection_->Run(Command("SET").Arg("k").Arg("v")));
  ASSERT_OK(connection_->Eval(script, {"k"}, {}));
  EXPECT_EQ(connection_->connect_count(), 1);
  EXPECT_EQ(Server().Cli({"GET", "k"}), "x");
}

TEST_P(ErrorClassTest, OnlyTheRefusedCommandOfAPipelineIsMissing) {
  const RedisErrorReply& error = GetParam();
  Server().Cli({"DEL", "n"});
  proxy_->InjectError({"INCR", "", error.text, 1});
  Pipeline pipeline;
  pipeline.Add(Command("INCR").Arg("n")).Add(Command("INCR").Arg("n"));
  auto replies = connection_->Run(pipeline);
  ASSERT_FALSE(replies.ok());
  ExpectClassified(replies.status(), "INCR");
  EXPECT_EQ(Server().Cli({"GET", "n"}), "1");  // the other command ran: callers must re-check
}

INSTANTIATE_TEST_SUITE_P(EveryClass, ErrorClassTest,
                         ::testing::ValuesIn(bananas::testing::kRedisErrorReplies),
                         [](const ::testing::TestParamInfo<RedisErrorReply>& info) {
                           return std::string(info.param.name);
                         });

TEST(PermanentErrorTest, StaysAReplyOrAnInternalStatus) {
  auto server = RedisServer::Start();
  ASSERT_OK(server);
  auto proxy = FaultProxy::Start((*server)->port());
  ASSERT_OK(proxy);
  auto connection = Connection::Open(*Options::FromUrl((*proxy)->url()));
  ASSERT_OK(connection);
  (*proxy)->InjectError({"", "", "BUSYKEY Target key name already exists.", -1});
  auto reply = (*connection)->Run(Command("RESTORE").Arg("k").Arg(0).Arg("x"));
  ASSERT_OK(reply);
  EXPECT_TRUE(reply->is_error());
  Script script("touch", "return 1");
  auto evaluated = (*connection)->Eval(script, {}, {});
  EXPECT_EQ(evaluated.status().code(), Status::Code::kInternal) << evaluated.status().ToString();
  EXPECT_FALSE(IsRetryable(evaluated.status()));
}

// The real thing, no proxy: a Redis over its maxmemory refuses writes with OOM, and every
// call says "Redis is full" while reads still work.
TEST(RealRedisTest, OutOfMemoryIsRedisFull) {
  auto server = RedisServer::Start();
  ASSERT_OK(server);
  ASSERT_EQ((*server)->Cli({"CONFIG", "SET", "maxmemory", "1"}), "OK");
  auto connection = Connection::Open(*Options::FromUrl((*server)->url()));
  ASSERT_OK(connection);
  auto set = (*connection)->Run(Command("SET").Arg("k").Arg("v"));
  EXPECT_TRUE(IsRedisFull(set.status())) << set.status().ToString();
  EXPECT_TRUE(IsRetryable(set.status()));
  Script write("write", "#!lua\nreturn redis.call('SET', KEYS[1], 'x')");
  auto evaluated = (*connection)->Eval(write, {"k"}, {});
  EXPECT_TRUE(IsRedisFull(evaluated.status())) << evaluated.status().ToString();
  EXPECT_NE(evaluated.status().message().find("EVALSHA write"), std::string::npos)
      << evaluated.status().ToString();
  ASSERT_OK((*connection)->Run(Command("GET").Arg("k")));
  ASSERT_EQ((*server)->Cli({"CONFIG", "SET", "maxmemory", "0"}), "OK");
  ASSERT_OK((*connection)->Eval(write, {"k"}, {}));
}

}  // namespace
}  // namespace bananas::redis
