// FaultProxy (tests/support/fault_proxy.h) against a real redis-server: it is transparent
// until told otherwise, and each fault does what the other tests rely on: an injected error
// replaces exactly one command's reply, in order, and the command never runs; a delay holds
// commands; a blackhole swallows them; a reset closes connections; a refusal keeps new ones
// out; the destructor stops with connections open.
#include "fault_proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "redis/connection.h"
#include "redis_server.h"
#include "test_util.h"

namespace bananas::testing {
namespace {

using redis::Command;
using redis::Connection;
using redis::Pipeline;
using redis::Reply;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// A bare socket: the exact bytes sent and received, no client library in between.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }

  void Send(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // Reads until `size` bytes came (or 10 s passed, or the peer closed) and returns them.
  std::string Read(size_t size) {
    std::string out;
    auto deadline = SteadyClock::now() + std::chrono::seconds(10);
    while (out.size() < size && SteadyClock::now() < deadline) {
      pollfd entry{fd_, POLLIN, 0};
      if (::poll(&entry, 1, 100) <= 0) continue;
      char buffer[4096];
      ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
      if (got <= 0) break;
      out.append(buffer, static_cast<size_t>(got));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string Resp(const std::vector<std::string>& words) {
  std::string out = "*" + std::to_string(words.size()) + "\r\n";
  for (const auto& w : words) out += "$" + std::to_string(w.size()) + "\r\n" + w + "\r\n";
  return out;
}

class FaultProxyTest : public ::testing::Test {
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
    direct_ = Open(Server().url());
    ASSERT_NE(direct_, nullptr);
    ASSERT_OK(direct_->Run(Command("FLUSHALL")));
  }

  static std::unique_ptr<Connection> Open(const std::string& url,
                                          milliseconds io_timeout = milliseconds(5000)) {
    auto options = redis::Options::FromUrl(url);
    EXPECT_OK(options);
    if (!options.ok()) return nullptr;
    options->io_timeout = io_timeout;
    options->reconnect_initial = milliseconds(10);
    options->reconnect_max = milliseconds(50);
    auto connection = Connection::Open(*options);
    EXPECT_OK(connection);
    return connection.ok() ? std::move(*connection) : nullptr;
  }

  // GET straight from Redis: what really ran.
  std::string DirectGet(const std::string& key) {
    auto reply = direct_->Run(Command("GET").Arg(key));
    EXPECT_OK(reply);
    return reply.ok() && !reply->is_nil() ? reply->str : "(nil)";
  }

  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<Connection> direct_;
};

TEST_F(FaultProxyTest, IsTransparentForCommandsPipelinesLargeValuesAndBlockingCalls) {
  auto connection = Open(proxy_->url());
  ASSERT_NE(connection, nullptr);
  const std::string big(3 * 1024 * 1024 + 17, 'x');  // many reads on each side
  ASSERT_OK(connection->Run(Command("SET").Arg("big").Arg(big)));
  auto got = connection->Run(Command("GET").Arg("big"));
  ASSERT_OK(got);
  EXPECT_EQ(got->str, big);

  Pipeline pipeline;
  for (int i = 0; i < 5000; ++i) pipeline.Add(Command("INCR").Arg("n"));
  auto replies = connection->Run(pipeline);
  ASSERT_OK(replies);
  ASSERT_EQ(replies->size(), 5000u);
  EXPECT_EQ(replies->back().integer, 5000);

  // A blocking command waits in Redis, and its reply comes back through the proxy.
  std::thread pusher([&] {
    std::this_thread::sleep_for(milliseconds(100));
    auto pushed = direct_->Run(Command("LPUSH").Arg("list").Arg("v"));
    EXPECT_OK(pushed);
  });
  auto popped = connection->Blocking(Command("BLPOP").Arg("list").Arg(5), milliseconds(5000));
  pusher.join();
  ASSERT_OK(popped);
  EXPECT_EQ(popped->Describe(), R"(["list", "v"])");
  EXPECT_EQ(proxy_->injected(), 0);
  EXPECT_GE(proxy_->commands(), 5003);
}

TEST_F(FaultProxyTest, InjectedErrorReplacesOneReplyInOrderAndTheCommandNeverRuns) {
  proxy_->InjectError({"incr", "", "LOADING Redis is loading the dataset in memory", 1});
  RawClient client(proxy_->port());
  ASSERT_TRUE(client.connected());
  // One write: two INCRs (the first refused), a GET, and an inline PING.
  client.Send(Resp({"INCR", "c"}) + Resp({"INCR", "c"}) + Resp({"GET", "c"}) + "PING\r\n");
  const std::string expected =
      "-LOADING Redis is loading the dataset in memory\r\n:1\r\n$1\r\n1\r\n+PONG\r\n";
  EXPECT_EQ(client.Read(expected.size()), expected);
  EXPECT_EQ(proxy_->injected(), 1);
  EXPECT_EQ(DirectGet("c"), "1");  // the refused INCR did not run

  // An injected error behind a slow reply waits for it: replies never overtake each other.
  proxy_->InjectError({"GET", "", "BUSY Redis is busy running a script.", 1});
  client.Send(Resp({"BLPOP", "nothing", "0.2"}) + Resp({"GET", "c"}) + Resp({"GET", "c"}));
  const std::string after_block = "*-1\r\n-BUSY Redis is busy running a script.\r\n$1\r\n1\r\n";
  EXPECT_EQ(client.Read(after_block.size()), after_block);
}

TEST_F(FaultProxyTest, ErrorRuleMatchesAnArgumentAndHoldsUntilCleared) {
  proxy_->InjectError({"", "k2", "OOM command not allowed when used memory > 'maxmemory'.", -1});
  RawClient client(proxy_->port());
  ASSERT_TRUE(client.connected());
  client.Send(Resp({"SET", "k1", "a"}) + Resp({"SET", "k2", "b"}) + Resp({"GET", "k2"}));
  const std::string oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
  const std::string expected = "+OK\r\n" + oom + oom;
  EXPECT_EQ(client.Read(expected.size()), expected);
  EXPECT_EQ(DirectGet("k1"), "a");
  EXPECT_EQ(DirectGet("k2"), "(nil)");
  proxy_->ClearErrors();
  client.Send(Resp({"SET", "k2", "b"}));
  EXPECT_EQ(client.Read(5), "+OK\r\n");
  EXPECT_EQ(DirectGet("k2"), "b");
  EXPECT_EQ(proxy_->injected(), 2);
}

TEST_F(FaultProxyTest, EveryErrorClassIsSentAsRedisWordsIt) {
  RawClient client(proxy_->port());
  ASSERT_TRUE(client.connected());
  for (const RedisErrorReply& error : kRedisErrorReplies) {
    proxy_->InjectError({"PING", "", error.text, 1});
    client.Send(Resp({"PING"}) + Resp({"PING"}));
    const std::string expected = "-" + std::string(error.text) + "\r\n+PONG\r\n";
    EXPECT_EQ(client.Read(expected.size()), expected) << error.name;
  }
}

TEST_F(FaultProxyTest, DelayHoldsEachCommand) {
  auto patient = Open(proxy_->url());
  auto hasty = Open(proxy_->url(), milliseconds(100));
  ASSERT_NE(patient, nullptr);
  ASSERT_NE(hasty, nullptr);
  proxy_->SetDelay(milliseconds(300));
  auto start = SteadyClock::now();
  ASSERT_OK(patient->Run(Command("SET").Arg("d").Arg("1")));
  EXPECT_GE(SteadyClock::now() - start, milliseconds(300));
  auto late = hasty->Run(Command("PING"));
  EXPECT_TRUE(late.status().IsUnavailable()) << late.status().ToString();
  proxy_->ClearAll();
  EXPECT_TRUE(WaitFor([&] { return hasty->Run(Command("PING")).ok(); }));
}

TEST_F(FaultProxyTest, BlackholeSwallowsCommandsUntilLifted) {
  auto connection = Open(proxy_->url(), milliseconds(200));
  ASSERT_NE(connection, nullptr);
  ASSERT_OK(connection->Run(Command("PING")));
  proxy_->SetBlackhole(true);
  auto lost = connection->Run(Command("SET").Arg("bh").Arg("1"));
  EXPECT_TRUE(lost.status().IsUnavailable()) << lost.status().ToString();
  auto again = connection->Run(Command("SET").Arg("bh").Arg("2"));  // a new connection too
  EXPECT_TRUE(again.status().IsUnavailable()) << again.status().ToString();
  EXPECT_EQ(DirectGet("bh"), "(nil)");
  proxy_->SetBlackhole(false);
  EXPECT_TRUE(WaitFor([&] { return connection->Run(Command("SET").Arg("bh").Arg("3")).ok(); }));
  EXPECT_EQ(DirectGet("bh"), "3");
}

TEST_F(FaultProxyTest, ResetClosesOpenConnections) {
  auto connection = Open(proxy_->url());
  ASSERT_NE(connection, nullptr);
  ASSERT_OK(connection->Run(Command("PING")));
  EXPECT_TRUE(WaitFor([&] { return proxy_->connections() == 1; }));
  proxy_->ResetConnections();
  EXPECT_TRUE(WaitFor([&] { return proxy_->connections() == 0; }));
  auto broken = connection->Run(Command("PING"));
  EXPECT_TRUE(broken.status().IsUnavailable()) << broken.status().ToString();
  EXPECT_TRUE(WaitFor([&] { return connection->Run(Command("PING")).ok(); }));
  EXPECT_EQ(connection->connect_count(), 2);
}

TEST_F(FaultProxyTest, RefusedConnectionsFailUntilAllowed) {
  auto connection = Open(proxy_->url());
  ASSERT_NE(connection, nullptr);
  proxy_->SetRefuseConnections(true);
  proxy_->ResetConnections();
  EXPECT_TRUE(WaitFor([&] { return proxy_->connections() == 0; }));
  for (int i = 0; i < 3; ++i) {
    auto refused = connection->Run(Command("PING"));
    EXPECT_TRUE(refused.status().IsUnavailable()) << refused.status().ToString();
  }
  proxy_->SetRefuseConnections(false);
  EXPECT_TRUE(WaitFor([&] { return connection->Run(Command("PING")).ok(); }));
}

TEST_F(FaultProxyTest, StopsCleanlyWithConnectionsOpenAndCommandsHeld) {
  auto connection = Open(proxy_->url(), milliseconds(300));
  ASSERT_NE(connection, nullptr);
  ASSERT_OK(connection->Run(Command("PING")));
  RawClient held(proxy_->port());
  ASSERT_TRUE(held.connected());
  proxy_->SetDelay(milliseconds(60'000));
  held.Send(Resp({"PING"}));
  EXPECT_TRUE(WaitFor([&] { return proxy_->connections() == 2; }));
  proxy_.reset();
  auto gone = connection->Run(Command("PING"));
  EXPECT_TRUE(gone.status().IsUnavailable()) << gone.status().ToString();
  EXPECT_EQ(held.Read(1), "");
}

}  // namespace
}  // namespace bananas::testing
