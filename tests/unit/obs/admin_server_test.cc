// AdminServer as a listener: binding, routing, request parsing, and a Stop that does not
// wait for a CPU profile to run its course.
#include "obs/admin_server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>

#include "obs/detail/cpu_profiler.h"
#include "test_util.h"

namespace bananas::obs {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// One HTTP/1.0 exchange; returns the whole response ("" if the connection failed).
std::string Http(uint16_t port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  send(fd, request.data(), request.size(), 0);
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) response.append(buffer, n);
  close(fd);
  return response;
}

std::string Get(uint16_t port, const std::string& target) {
  return Http(port, "GET " + target + " HTTP/1.0\r\nHost: test\r\n\r\n");
}

TEST(AdminServer, ServesHealthzMetricsAndRegisteredHandlers) {
  AdminServer server;
  server.SetMetricsSource([] { return std::string("bananas_up 1\n"); });
  server.AddHandler("/echo", [](const AdminRequest& r) {
    AdminResponse response;
    response.body = r.method + " " + r.path + " a=" + r.Param("a").value_or("-") +
                    " b=" + r.Param("b").value_or("-") + " body=" + r.body;
    return response;
  });
  ASSERT_OK(server.Start("127.0.0.1", 0));
  ASSERT_NE(server.port(), 0);
  EXPECT_THAT(Get(server.port(), "/healthz"), StartsWith("HTTP/1.0 200 OK"));
  EXPECT_THAT(Get(server.port(), "/healthz"), HasSubstr("\r\n\r\nok"));
  std::string metrics = Get(server.port(), "/metrics");
  EXPECT_THAT(metrics, HasSubstr("Content-Type: text/plain; version=0.0.4; charset=utf-8"));
  EXPECT_THAT(metrics, HasSubstr("\r\n\r\nbananas_up 1\n"));
  EXPECT_THAT(Get(server.port(), "/echo?a=x+y%21&b"), HasSubstr("GET /echo a=x y! b= body="));
  EXPECT_THAT(Http(server.port(), "POST /ec%68o HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello"),
              HasSubstr("POST /echo a=- b=- body=hello"));
  EXPECT_THAT(Get(server.port(), "/nonesuch"), StartsWith("HTTP/1.0 404"));
  EXPECT_THAT(Http(server.port(), "DELETE /healthz HTTP/1.0\r\n\r\n"), StartsWith("HTTP/1.0 405"));
  server.Stop();
  EXPECT_EQ(Get(server.port(), "/healthz"), "");
}

TEST(AdminServer, MetricsDefaultToAnEmptyBody) {
  AdminServer server;
  ASSERT_OK(server.Start());
  std::string metrics = Get(server.port(), "/metrics");
  EXPECT_THAT(metrics, StartsWith("HTTP/1.0 200 OK"));
  EXPECT_THAT(metrics, HasSubstr("Content-Length: 0\r\n"));
}

TEST(AdminServer, RejectsBadAddressesBusyPortsAndSecondStarts) {
  AdminServer first;
  EXPECT_TRUE(first.Start("not-an-address", 0).IsInvalidArgument());
  ASSERT_OK(first.Start("127.0.0.1", 0));
  EXPECT_TRUE(first.Start("127.0.0.1", 0).IsFailedPrecondition());
  AdminServer second;
  Status busy = second.Start("127.0.0.1", first.port());
  EXPECT_TRUE(busy.IsUnavailable());
  EXPECT_THAT(busy.message(), HasSubstr("127.0.0.1:" + std::to_string(first.port())));
}

TEST(AdminServer, RefusesOversizedBodies) {
  AdminServerOptions options;
  options.max_body_bytes = 16;
  AdminServer server(options);
  ASSERT_OK(server.Start());
  EXPECT_THAT(
      Http(server.port(), "POST /debug/pprof/symbol HTTP/1.0\r\nContent-Length: 100\r\n\r\n" +
                              std::string(100, '1')),
      StartsWith("HTTP/1.0 413"));
}

TEST(AdminServer, StopEndsACpuProfileInProgress) {
  AdminServer server;
  ASSERT_OK(server.Start());
  auto profile = std::async(std::launch::async,
                            [&] { return Get(server.port(), "/debug/pprof/profile?seconds=60"); });
  ASSERT_TRUE(testing::WaitFor([] { return detail::CpuProfileInProgress(); }));
  auto started = std::chrono::steady_clock::now();
  server.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
  profile.get();  // the client sees 503 or a closed connection; either way it returns
  EXPECT_FALSE(detail::CpuProfileInProgress());
}

}  // namespace
}  // namespace bananas::obs
