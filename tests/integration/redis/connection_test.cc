// Connection against a real redis-server: pipelining, replies, scripts, AUTH/SELECT, blocking
// commands, and the failure model (server killed, server too slow).
#include "redis/connection.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.h"
#include "test_util.h"

namespace bananas::redis {
namespace {

using namespace std::string_literals;
using bananas::testing::RedisServer;
using bananas::testing::RedisServerOptions;
using bananas::testing::WaitFor;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

std::unique_ptr<RedisServer> StartServer(RedisServerOptions options = {}) {
  Result<std::unique_ptr<RedisServer>> server = RedisServer::Start(std::move(options));
  EXPECT_OK(server);
  return server.ok() ? std::move(*server) : nullptr;
}

// A server whose default user needs `password`. Set at run time: the fixture's readiness probe
// sends a bare PING, which a server started with --requirepass would refuse.
std::unique_ptr<RedisServer> StartServerWithPassword(const std::string& password) {
  std::unique_ptr<RedisServer> server = StartServer();
  if (server != nullptr) {
    EXPECT_EQ(server->Cli({"CONFIG", "SET", "requirepass", password}), "OK");
  }
  return server;
}

RedisServerOptions WithArgs(std::vector<std::string> extra_args) {
  RedisServerOptions options;
  options.extra_args = std::move(extra_args);
  return options;
}

Options OptionsFor(const std::string& url) {
  Result<Options> options = Options::FromUrl(url);
  EXPECT_OK(options);
  Options out = options.ok() ? *options : Options();
  // Quick reconnects keep the failure tests short; the pacing itself is tested separately.
  out.reconnect_initial = milliseconds(10);
  out.reconnect_max = milliseconds(100);
  return out;
}

std::unique_ptr<Connection> Open(const Options& options) {
  Result<std::unique_ptr<Connection>> connection = Connection::Open(options);
  EXPECT_OK(connection);
  return connection.ok() ? std::move(*connection) : nullptr;
}

Reply RunOk(Connection& connection, const Command& command) {
  Result<Reply> reply = connection.Run(command);
  EXPECT_OK(reply);
  return reply.ok() ? std::move(*reply) : Reply();
}

bool Pings(Connection& connection) {
  Result<Reply> reply = connection.Run(Command("PING"));
  return reply.ok() && reply->is_string() && reply->str == "PONG";
}

int64_t MillisSince(SteadyClock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start).count();
}

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = StartServer();
    ASSERT_NE(server_, nullptr);
    connection_ = Open(OptionsFor(server_->url()));
    ASSERT_NE(connection_, nullptr);
    ASSERT_TRUE(connection_->connected());
  }

  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<Connection> connection_;
};

TEST_F(ConnectionTest, PipelineReturnsRepliesInOrder) {
  Pipeline pipeline;
  for (int i = 0; i < 1000; ++i) pipeline.Add(Command("INCR").Arg("counter"));
  Result<std::vector<Reply>> replies = connection_->Run(pipeline);
  ASSERT_OK(replies);
  ASSERT_EQ(replies->size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE((*replies)[i].is_integer()) << (*replies)[i].Describe();
    EXPECT_EQ((*replies)[i].integer, i + 1);
  }
  EXPECT_EQ(server_->Cli({"GET", "counter"}), "1000");
  EXPECT_EQ(connection_->connect_count(), 1);
}

TEST_F(ConnectionTest, LargePipelineIsReadWhileWritten) {
  const std::string value(1024, 'v');
  Pipeline writes;
  for (int i = 0; i < 20'000; ++i)
    writes.Add(Command("SET").Arg("key:" + std::to_string(i)).Arg(value));
  Result<std::vector<Reply>> written = connection_->Run(writes);
  ASSERT_OK(written);
  ASSERT_EQ(written->size(), 20'000u);
  EXPECT_EQ(written->back().str, "OK");

  Pipeline reads;
  for (int i = 0; i < 20'000; ++i) reads.Add(Command("GET").Arg("key:" + std::to_string(i)));
  Result<std::vector<Reply>> read = connection_->Run(reads);
  ASSERT_OK(read);
  ASSERT_EQ(read->size(), 20'000u);
  for (const Reply& reply : *read) ASSERT_EQ(reply.str, value);
}

TEST_F(ConnectionTest, EmptyPipelineSendsNothing) {
  Result<std::vector<Reply>> replies = connection_->Run(Pipeline());
  ASSERT_OK(replies);
  EXPECT_TRUE(replies->empty());
}

TEST_F(ConnectionTest, ErrorReplyIsReturnedAsReply) {
  RunOk(*connection_, Command("SET").Arg("text").Arg("abc"));
  Reply not_integer = RunOk(*connection_, Command("INCR").Arg("text"));
  ASSERT_TRUE(not_integer.is_error());
  EXPECT_EQ(not_integer.str.rfind("ERR", 0), 0u) << not_integer.str;

  Reply unknown = RunOk(*connection_, Command("NOSUCHCOMMAND").Arg("x"));
  ASSERT_TRUE(unknown.is_error());
  EXPECT_NE(unknown.str.find("unknown command"), std::string::npos) << unknown.str;

  // An error in a pipeline stays in its slot; the others are unaffected.
  Pipeline pipeline;
  pipeline.Add(Command("SET").Arg("a").Arg("1"))
      .Add(Command("LPUSH").Arg("a").Arg("x"))
      .Add(Command("GET").Arg("a"));
  Result<std::vector<Reply>> replies = connection_->Run(pipeline);
  ASSERT_OK(replies);
  ASSERT_EQ(replies->size(), 3u);
  EXPECT_EQ((*replies)[0].str, "OK");
  EXPECT_TRUE((*replies)[1].is_error());
  EXPECT_EQ((*replies)[1].str.rfind("WRONGTYPE", 0), 0u) << (*replies)[1].str;
  EXPECT_EQ((*replies)[2].str, "1");
  EXPECT_TRUE(Pings(*connection_));
  EXPECT_EQ(connection_->connect_count(), 1);
}

TEST_F(ConnectionTest, ArgumentsAndRepliesAreBinarySafe) {
  const std::string key = "k\0ey\r\n"s;
  std::string value = "\r\n$5\r\n*1\r\n"s;
  for (int i = 0; i < 256; ++i) value += static_cast<char>(i);
  RunOk(*connection_, Command("SET").Arg(key).Arg(value));
  Reply got = RunOk(*connection_, Command("GET").Arg(key));
  ASSERT_EQ(got.type, Reply::Type::kString);
  EXPECT_EQ(got.str, value);
  Reply length = RunOk(*connection_, Command("STRLEN").Arg(key));
  EXPECT_EQ(length.integer, static_cast<int64_t>(value.size()));
}

TEST_F(ConnectionTest, ReplyTypesAreDecoded) {
  EXPECT_TRUE(RunOk(*connection_, Command("GET").Arg("missing")).is_nil());
  Reply status = RunOk(*connection_, Command("SET").Arg("s").Arg("v"));
  EXPECT_EQ(status.type, Reply::Type::kStatus);
  EXPECT_EQ(status.str, "OK");
  Reply pushed =
      RunOk(*connection_, Command("RPUSH").Arg("list").Arg("a").Arg("b").Arg(int64_t{-3}));
  EXPECT_EQ(pushed.type, Reply::Type::kInteger);
  EXPECT_EQ(pushed.integer, 3);
  Reply range = RunOk(*connection_, Command("LRANGE").Arg("list").Arg(0).Arg(-1));
  ASSERT_TRUE(range.is_array());
  ASSERT_EQ(range.elements.size(), 3u);
  EXPECT_EQ(range.elements[2].str, "-3");

  Reply nested =
      RunOk(*connection_, Command("EVAL").Arg("return {1, 'two', {3, {'four'}}, false}").Arg(0));
  EXPECT_EQ(nested.Describe(), R"([1, "two", [3, ["four"]], nil])");

  Reply score = RunOk(*connection_, Command("ZADD").Arg("z").Arg(0.1).Arg("m"));
  EXPECT_EQ(score.integer, 1);
  // Redis 7.0 prints scores with %.17g; the value is exact either way.
  EXPECT_EQ(std::stod(RunOk(*connection_, Command("ZSCORE").Arg("z").Arg("m")).str), 0.1);
}

TEST_F(ConnectionTest, EvalReloadsScriptAfterScriptFlush) {
  Script echo("echo", "return 'echo:' .. ARGV[1]");
  // Our SHA1 is the one Redis computes.
  EXPECT_EQ(server_->Cli({"SCRIPT", "LOAD", echo.source()}), echo.sha1());
  server_->Cli({"SCRIPT", "FLUSH"});

  Result<Reply> first = connection_->Eval(echo, {}, {"one"});
  ASSERT_OK(first);
  EXPECT_EQ(first->str, "echo:one");
  EXPECT_EQ(server_->Cli({"SCRIPT", "EXISTS", echo.sha1()}), "1");

  server_->Cli({"SCRIPT", "FLUSH"});
  ASSERT_EQ(server_->Cli({"SCRIPT", "EXISTS", echo.sha1()}), "0");
  Result<Reply> second = connection_->Eval(echo, {}, {"two"});
  ASSERT_OK(second);
  EXPECT_EQ(second->str, "echo:two");
  EXPECT_EQ(server_->Cli({"SCRIPT", "EXISTS", echo.sha1()}), "1");
}

TEST_F(ConnectionTest, EvalPassesKeysAndArgs) {
  Script add("add", "return redis.call('INCRBY', KEYS[1], ARGV[1])");
  Result<Reply> reply = connection_->Eval(add, {"total"}, {"5"});
  ASSERT_OK(reply);
  EXPECT_EQ(reply->integer, 5);
  reply = connection_->Eval(add, {"total"}, {"-2"});
  ASSERT_OK(reply);
  EXPECT_EQ(reply->integer, 3);
}

TEST_F(ConnectionTest, EvalManyReloadsOnlyUnloadedScripts) {
  Script add("add", "return redis.call('INCRBY', KEYS[1], ARGV[1])");
  Script pair("pair", "return {KEYS[1], ARGV[1]}");
  Script refuse("refuse", "return redis.error_reply('ERR refused ' .. ARGV[1])");
  Result<Reply> warm = connection_->Eval(add, {"sum"}, {"100"});  // `add` is loaded now
  ASSERT_OK(warm);
  ASSERT_EQ(server_->Cli({"SCRIPT", "EXISTS", pair.sha1()}), "0");

  std::vector<Connection::EvalCall> calls = {
      {&add, {"sum"}, {"1"}}, {&pair, {"p1"}, {"x"}},    {&add, {"sum"}, {"2"}},
      {&pair, {"p2"}, {"y"}}, {&refuse, {}, {"please"}}, {&add, {"sum"}, {"4"}},
  };
  Result<std::vector<Reply>> replies = connection_->EvalMany(calls);
  ASSERT_OK(replies);
  ASSERT_EQ(replies->size(), 6u);
  EXPECT_EQ((*replies)[0].integer, 101);
  EXPECT_EQ((*replies)[1].Describe(), R"(["p1", "x"])");
  EXPECT_EQ((*replies)[2].integer, 103);
  EXPECT_EQ((*replies)[3].Describe(), R"(["p2", "y"])");
  ASSERT_TRUE((*replies)[4].is_error());
  EXPECT_EQ((*replies)[4].str, "ERR refused please");
  EXPECT_EQ((*replies)[5].integer, 107);
  // Every `add` ran exactly once: none was re-sent.
  EXPECT_EQ(server_->Cli({"GET", "sum"}), "107");
  EXPECT_EQ(server_->Cli({"SCRIPT", "EXISTS", pair.sha1(), refuse.sha1()}), "1\n1");

  // After a flush, every call is reloaded and re-sent, still in order.
  server_->Cli({"SCRIPT", "FLUSH"});
  replies = connection_->EvalMany({{&add, {"sum"}, {"1"}}, {&add, {"sum"}, {"1"}}});
  ASSERT_OK(replies);
  EXPECT_EQ((*replies)[0].integer, 108);
  EXPECT_EQ((*replies)[1].integer, 109);
}

TEST_F(ConnectionTest, EvalManyReportsScriptThatFailsToLoad) {
  Script broken("broken", "return (");
  Script fine("fine", "return 1");
  Result<std::vector<Reply>> replies = connection_->EvalMany({{&fine, {}, {}}, {&broken, {}, {}}});
  ASSERT_OK(replies);
  EXPECT_EQ((*replies)[0].integer, 1);
  ASSERT_TRUE((*replies)[1].is_error());
  EXPECT_NE((*replies)[1].str.find("script broken: SCRIPT LOAD"), std::string::npos)
      << (*replies)[1].str;

  Result<Reply> single = connection_->Eval(broken, {}, {});
  ASSERT_FALSE(single.ok());
  EXPECT_EQ(single.status().code(), Status::Code::kInternal);
  EXPECT_NE(single.status().message().find("script broken: SCRIPT LOAD"), std::string::npos)
      << single.status().ToString();
}

TEST_F(ConnectionTest, BananasScriptErrorBecomesInvalidArgument) {
  Script reply_error("reply_error", "return redis.error_reply('BANANAS job 42 not found')");
  Result<Reply> reply = connection_->Eval(reply_error, {}, {});
  ASSERT_FALSE(reply.ok());
  EXPECT_TRUE(reply.status().IsInvalidArgument()) << reply.status().ToString();
  EXPECT_EQ(reply.status().message(), "BANANAS job 42 not found");

  // error() is prefixed by Redis ("ERR user_script:1: ..."); the text from BANANAS on is kept.
  Script raised("raised", "error('BANANAS lease lost')");
  reply = connection_->Eval(raised, {}, {});
  ASSERT_FALSE(reply.ok());
  EXPECT_TRUE(reply.status().IsInvalidArgument()) << reply.status().ToString();
  EXPECT_EQ(reply.status().message().rfind("BANANAS lease lost", 0), 0u)
      << reply.status().ToString();

  Script wrong_type("wrong_type", "return redis.call('INCR', KEYS[1])");
  RunOk(*connection_, Command("SET").Arg("word").Arg("abc"));
  reply = connection_->Eval(wrong_type, {"word"}, {});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), Status::Code::kInternal) << reply.status().ToString();
  EXPECT_EQ(reply.status().message().rfind("script wrong_type: ", 0), 0u)
      << reply.status().ToString();
  EXPECT_TRUE(Pings(*connection_));
}

TEST(ConnectionAuthTest, PasswordAndUserPasswordAuthenticate) {
  std::unique_ptr<RedisServer> server = StartServerWithPassword("s3cret");
  ASSERT_NE(server, nullptr);
  const std::string address = "127.0.0.1:" + std::to_string(server->port());

  std::unique_ptr<Connection> password_only = Open(OptionsFor("redis://:s3cret@" + address));
  ASSERT_NE(password_only, nullptr);
  EXPECT_TRUE(Pings(*password_only));

  std::unique_ptr<Connection> with_user = Open(OptionsFor("redis://default:s3cret@" + address));
  ASSERT_NE(with_user, nullptr);
  EXPECT_TRUE(Pings(*with_user));

  // Without credentials the connection is up, and Redis refuses the command itself.
  std::unique_ptr<Connection> anonymous = Open(OptionsFor("redis://" + address));
  ASSERT_NE(anonymous, nullptr);
  Reply refused = RunOk(*anonymous, Command("PING"));
  ASSERT_TRUE(refused.is_error());
  EXPECT_EQ(refused.str.rfind("NOAUTH", 0), 0u) << refused.str;
}

TEST(ConnectionAuthTest, WrongPasswordFailsWithoutLeakingIt) {
  std::unique_ptr<RedisServer> server = StartServerWithPassword("s3cret");
  ASSERT_NE(server, nullptr);
  const std::string wrong = "Wr0ngHorseBattery";
  for (const std::string& userinfo : {":" + wrong, "default:" + wrong}) {
    std::unique_ptr<Connection> connection = Open(
        OptionsFor("redis://" + userinfo + "@127.0.0.1:" + std::to_string(server->port()) + "/0"));
    ASSERT_NE(connection, nullptr);
    EXPECT_FALSE(connection->connected());
    Result<Reply> reply = connection->Run(Command("PING"));
    ASSERT_FALSE(reply.ok());
    const std::string text = reply.status().ToString();
    EXPECT_EQ(text.find(wrong), std::string::npos) << text;
    EXPECT_NE(text.find("AUTH rejected"), std::string::npos) << text;
    EXPECT_NE(text.find(std::to_string(server->port())), std::string::npos) << text;
    EXPECT_EQ(connection->connect_count(), 0);
  }
}

TEST_F(ConnectionTest, SelectsDatabaseFromUrl) {
  std::unique_ptr<Connection> db3 = Open(OptionsFor(server_->url(3)));
  ASSERT_NE(db3, nullptr);
  RunOk(*db3, Command("SET").Arg("where").Arg("three"));
  EXPECT_EQ(server_->Cli({"-n", "3", "GET", "where"}), "three");
  EXPECT_EQ(server_->Cli({"GET", "where"}), "");
  EXPECT_TRUE(RunOk(*connection_, Command("GET").Arg("where")).is_nil());

  // A database the server does not have is refused at the handshake.
  std::unique_ptr<Connection> db_out_of_range = Open(OptionsFor(server_->url(999)));
  ASSERT_NE(db_out_of_range, nullptr);
  Result<Reply> reply = db_out_of_range->Run(Command("PING"));
  ASSERT_FALSE(reply.ok());
  EXPECT_TRUE(reply.status().IsInvalidArgument()) << reply.status().ToString();
  EXPECT_NE(reply.status().message().find("SELECT rejected"), std::string::npos)
      << reply.status().ToString();
}

TEST_F(ConnectionTest, BlockingPopTimesOutWithNil) {
  auto start = SteadyClock::now();
  Result<Reply> reply =
      connection_->Blocking(Command("BLPOP").Arg("empty").Arg(0.2), milliseconds(200));
  ASSERT_OK(reply);
  EXPECT_TRUE(reply->is_nil()) << reply->Describe();
  EXPECT_GE(MillisSince(start), 150);
  EXPECT_TRUE(Pings(*connection_));
}

TEST_F(ConnectionTest, BlockingPopIsWokenByPush) {
  std::unique_ptr<Connection> pusher = Open(OptionsFor(server_->url()));
  ASSERT_NE(pusher, nullptr);
  std::atomic<bool> pushed{false};
  std::thread push_thread([&] {
    // Push only once the pop is really blocked, so the wake-up path is what is tested.
    bool blocked = WaitFor([&] {
      Result<Reply> info = pusher->Run(Command("INFO").Arg("clients"));
      return info.ok() && info->str.find("blocked_clients:1") != std::string::npos;
    });
    if (!blocked) return;
    Result<Reply> push = pusher->Run(Command("LPUSH").Arg("jobs").Arg("job-1"));
    pushed = push.ok() && push->integer == 1;
  });
  Result<Reply> reply =
      connection_->Blocking(Command("BLPOP").Arg("jobs").Arg(30), std::chrono::seconds(30));
  push_thread.join();
  ASSERT_TRUE(pushed.load());
  ASSERT_OK(reply);
  EXPECT_EQ(reply->Describe(), R"(["jobs", "job-1"])");
}

TEST_F(ConnectionTest, BlockingNeedsABound) {
  Result<Reply> reply = connection_->Blocking(Command("BLPOP").Arg("jobs").Arg(0), milliseconds(0));
  ASSERT_FALSE(reply.ok());
  EXPECT_TRUE(reply.status().IsInvalidArgument()) << reply.status().ToString();
}

TEST_F(ConnectionTest, ReconnectsAfterServerRestart) {
  RunOk(*connection_, Command("SET").Arg("before").Arg("1"));
  const int connects_before = connection_->connect_count();

  server_->Kill();
  Result<Reply> during = connection_->Run(Command("GET").Arg("before"));
  ASSERT_FALSE(during.ok());
  EXPECT_TRUE(during.status().IsUnavailable()) << during.status().ToString();
  EXPECT_NE(during.status().message().find(
                "redis GET on 127.0.0.1:" + std::to_string(server_->port()) + "/0"),
            std::string::npos)
      << during.status().ToString();
  EXPECT_FALSE(connection_->connected());
  // Still down: the reconnect is refused, also Unavailable.
  Result<Reply> still_down = connection_->Run(Command("PING"));
  ASSERT_FALSE(still_down.ok());
  EXPECT_TRUE(still_down.status().IsUnavailable()) << still_down.status().ToString();

  Status restarted = server_->Restart();
  ASSERT_OK(restarted);
  EXPECT_TRUE(WaitFor([&] { return Pings(*connection_); }, std::chrono::seconds(10)));
  EXPECT_GT(connection_->connect_count(), connects_before);
  RunOk(*connection_, Command("SET").Arg("after").Arg("2"));
  EXPECT_EQ(server_->Cli({"GET", "after"}), "2");
}

TEST(ConnectionTimeoutTest, IoTimeoutClosesAndRecovers) {
  std::unique_ptr<RedisServer> server = StartServer(WithArgs({"--enable-debug-command", "yes"}));
  ASSERT_NE(server, nullptr);
  Options options = OptionsFor(server->url() + "?io_timeout=200ms");
  ASSERT_EQ(options.io_timeout, milliseconds(200));
  std::unique_ptr<Connection> connection = Open(options);
  ASSERT_NE(connection, nullptr);

  auto start = SteadyClock::now();
  Result<Reply> slow = connection->Run(Command("DEBUG").Arg("SLEEP").Arg(1));
  int64_t elapsed_ms = MillisSince(start);
  ASSERT_FALSE(slow.ok());
  EXPECT_TRUE(slow.status().IsUnavailable()) << slow.status().ToString();
  EXPECT_NE(slow.status().message().find("redis DEBUG on"), std::string::npos)
      << slow.status().ToString();
  EXPECT_NE(slow.status().message().find("no reply within 200ms"), std::string::npos)
      << slow.status().ToString();
  EXPECT_GE(elapsed_ms, 190);
  EXPECT_LT(elapsed_ms, 900);  // well before the server wakes up
  EXPECT_FALSE(connection->connected());

  EXPECT_TRUE(WaitFor([&] { return Pings(*connection); }, std::chrono::seconds(10)));
  EXPECT_GE(connection->connect_count(), 2);
}

TEST(ConnectionDownTest, OpenToDeadServerStartsBrokenAndPacesRetries) {
  const int port = bananas::testing::FreePort();
  Options options = OptionsFor("redis://127.0.0.1:" + std::to_string(port) + "/0");
  options.reconnect_initial = milliseconds(200);
  options.reconnect_max = milliseconds(2000);
  std::unique_ptr<Connection> connection = Open(options);
  ASSERT_NE(connection, nullptr);
  EXPECT_FALSE(connection->connected());

  Result<Reply> first = connection->Run(Command("PING"));
  ASSERT_FALSE(first.ok());
  EXPECT_TRUE(first.status().IsUnavailable()) << first.status().ToString();
  EXPECT_NE(first.status().message().find("connect failed"), std::string::npos)
      << first.status().ToString();

  // Two failures so far: the next attempt waits at least half of 2 x 200ms.
  auto start = SteadyClock::now();
  Status again = connection->EnsureConnected();
  EXPECT_TRUE(again.IsUnavailable()) << again.ToString();
  EXPECT_GE(MillisSince(start), 195);
  EXPECT_EQ(connection->connect_count(), 0);
}

TEST(ConnectionOpenTest, TlsIsRefusedForNow) {
  Result<Options> options = Options::FromUrl("rediss://:pw@127.0.0.1:6380/0");
  ASSERT_OK(options);
  Result<std::unique_ptr<Connection>> connection = Connection::Open(*options);
  ASSERT_FALSE(connection.ok());
  EXPECT_TRUE(connection.status().IsInvalidArgument());
  EXPECT_NE(connection.status().message().find("TLS"), std::string::npos);
  EXPECT_EQ(connection.status().message().find("pw"), std::string::npos);
}

TEST_F(ConnectionTest, ConnectionClosedWhileIdleIsReplacedBeforeSending) {
  Reply id = RunOk(*connection_, Command("CLIENT").Arg("ID"));
  ASSERT_TRUE(id.is_integer());
  EXPECT_EQ(server_->Cli({"CLIENT", "KILL", "ID", std::to_string(id.integer)}), "1");
  // The idle check runs after a second without I/O; only elapsed time can make that true.
  std::this_thread::sleep_for(milliseconds(1100));
  RunOk(*connection_, Command("SET").Arg("k").Arg("v"));
  EXPECT_EQ(connection_->connect_count(), 2);
  EXPECT_EQ(server_->Cli({"GET", "k"}), "v");
}

}  // namespace
}  // namespace bananas::redis
