// The admin CLI and `bananas api` end to end: the built binary against a real redis-server,
// as a user or a script would run them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>

#include "gtest/gtest.h"
#include "process.h"
#include "queue/broker.h"
#include "redis/connection.h"
#include "redis_server.h"
#include "test_util.h"

namespace bananas::testing {
namespace {

constexpr int kExitUsage = 2;

class AdminCli : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<RedisServer>> redis = RedisServer::Start();
    ASSERT_OK(redis);
    redis_ = std::move(*redis);
  }

  // Runs `bananas args...` to its end with REDIS_URL set.
  std::unique_ptr<Process> Run(std::vector<std::string> args) {
    ProcessOptions options;
    options.args = {BANANAS_BIN};
    options.args.insert(options.args.end(), args.begin(), args.end());
    options.env = {{"REDIS_URL", redis_->url()}};
    return RunToExit(std::move(options));
  }

  // Runs and parses stdout as JSON; fails the test on a non-zero exit.
  boost::json::value RunJson(std::vector<std::string> args) {
    std::unique_ptr<Process> p = Run(args);
    EXPECT_EQ(p->WaitExit(), 0) << p->Output();
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(p->out(), ec);
    EXPECT_FALSE(ec) << p->Output();
    return v;
  }

  static std::string Str(const boost::json::value& v, const char* key) {
    const auto* field = v.is_object() ? v.as_object().if_contains(key) : nullptr;
    return field != nullptr && field->is_string() ? std::string(field->as_string()) : "";
  }

  std::unique_ptr<RedisServer> redis_;
};

TEST_F(AdminCli, EnqueueThenJobShowsTheSameJob) {
  boost::json::value enqueued =
      RunJson({"enqueue", "echo", "--payload", R"({"a":1})", "--queue", "mail", "--priority",
               "high", "--description", "from the CLI", "--json"});
  const std::string id = Str(enqueued, "id");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Str(enqueued, "state"), "pending");
  EXPECT_EQ(redis_->Cli({"LRANGE", "bananas:{mail}:pending:high", "0", "-1"}), id);

  boost::json::value job = RunJson({"job", id, "--json"});
  EXPECT_EQ(Str(job, "id"), id);
  EXPECT_EQ(Str(job, "name"), "echo");
  EXPECT_EQ(Str(job, "queue"), "mail");
  EXPECT_EQ(Str(job, "priority"), "high");
  EXPECT_EQ(Str(job, "description"), "from the CLI");
  EXPECT_EQ(boost::json::serialize(job.at("payload")), R"({"a":1})");

  // Human output names the fields.
  std::unique_ptr<Process> human = Run({"job", id});
  EXPECT_EQ(human->WaitExit(), 0) << human->Output();
  EXPECT_NE(human->out().find("state        pending"), std::string::npos) << human->Output();
}

TEST_F(AdminCli, BadInputExitsTwoAndUnknownJobExitsOne) {
  std::unique_ptr<Process> bad_priority = Run({"enqueue", "echo", "--priority", "urgent"});
  EXPECT_EQ(bad_priority->WaitExit(), kExitUsage) << bad_priority->Output();
  EXPECT_NE(bad_priority->err().find("--priority"), std::string::npos) << bad_priority->Output();
  std::unique_ptr<Process> bad_name = Run({"enqueue", "bad name"});
  EXPECT_EQ(bad_name->WaitExit(), kExitUsage) << bad_name->Output();
  EXPECT_EQ(redis_->Cli({"DBSIZE"}), "0");
  std::unique_ptr<Process> missing = Run({"job", "01ARZ3NDEKTSV4RRFFQ69G5FAV-default"});
  EXPECT_EQ(missing->WaitExit(), 1) << missing->Output();
  EXPECT_NE(missing->err().find("bananas job: "), std::string::npos) << missing->Output();
}

TEST_F(AdminCli, QueuesPauseAndResume) {
  ASSERT_EQ(Run({"enqueue", "noop"})->WaitExit(), 0);
  std::unique_ptr<Process> paused = Run({"pause", "default"});
  EXPECT_EQ(paused->WaitExit(), 0) << paused->Output();
  EXPECT_EQ(paused->out(), "queue default paused\n");
  EXPECT_EQ(redis_->Cli({"EXISTS", "bananas:{default}:paused"}), "1");

  boost::json::value queues = RunJson({"queues", "--json"});
  ASSERT_EQ(queues.at("queues").as_array().size(), 1u);
  const auto& q = queues.at("queues").as_array()[0];
  EXPECT_EQ(Str(q, "name"), "default");
  EXPECT_TRUE(q.at("paused").as_bool());
  EXPECT_EQ(q.at("pending").at("normal").as_int64(), 1);

  std::unique_ptr<Process> table = Run({"queues"});
  EXPECT_EQ(table->WaitExit(), 0);
  EXPECT_NE(table->out().find("QUEUE"), std::string::npos) << table->Output();
  EXPECT_NE(table->out().find("default  yes"), std::string::npos) << table->Output();

  EXPECT_EQ(Run({"resume", "default"})->WaitExit(), 0);
  EXPECT_EQ(redis_->Cli({"EXISTS", "bananas:{default}:paused"}), "0");
}

TEST_F(AdminCli, DlqListRetryAndPurge) {
  // Two dead jobs, made the way a worker would: leased, then failed for good.
  auto options = redis::Options::FromUrl(redis_->url());
  ASSERT_OK(options);
  auto connection = redis::Connection::Open(*options);
  ASSERT_OK(connection);
  queue::Broker broker(**connection, queue::BrokerOptions{});
  std::vector<std::string> dead;
  for (int i = 0; i < 2; ++i) {
    JobSpec spec;
    spec.name = "fail";
    spec.max_retries = 0;
    auto enqueued = broker.Enqueue(spec);
    ASSERT_OK(enqueued);
    auto leased = broker.Dequeue({"default", 1, {}, {}});
    ASSERT_OK(leased);
    ASSERT_EQ(leased->size(), 1u);
    queue::Failure failure;
    failure.id = enqueued->id;
    failure.token = leased->front().token;
    failure.error = "boom " + std::to_string(i);
    ASSERT_OK(broker.Fail("default", failure));
    dead.push_back(enqueued->id);
  }
  boost::json::value listed = RunJson({"dlq", "list", "--json"});
  EXPECT_EQ(listed.at("total").as_int64(), 2);
  ASSERT_EQ(listed.at("jobs").as_array().size(), 2u);
  EXPECT_EQ(Str(listed.at("jobs").as_array()[0], "id"), dead[1]);  // newest first
  EXPECT_EQ(Str(listed.at("jobs").as_array()[0], "error"), "boom 1");

  std::unique_ptr<Process> human = Run({"dlq", "list"});
  EXPECT_EQ(human->WaitExit(), 0);
  EXPECT_NE(human->out().find("2 shown of 2 dead"), std::string::npos) << human->Output();

  std::unique_ptr<Process> neither = Run({"dlq", "retry"});
  EXPECT_EQ(neither->WaitExit(), kExitUsage) << neither->Output();

  boost::json::value retried = RunJson({"dlq", "retry", dead[0], "--json"});
  EXPECT_EQ(retried.at("retried").as_int64(), 1);
  EXPECT_EQ(Str(RunJson({"job", dead[0], "--json"}), "state"), "pending");

  std::unique_ptr<Process> purged = Run({"dlq", "purge", "--all"});
  EXPECT_EQ(purged->WaitExit(), 0) << purged->Output();
  EXPECT_EQ(purged->out(), "purged 1\n");
  std::unique_ptr<Process> gone = Run({"job", dead[1]});
  EXPECT_NE(gone->WaitExit(), 0) << gone->Output();  // not found
  EXPECT_EQ(redis_->Cli({"ZCARD", "bananas:{default}:dead"}), "0");
}

TEST_F(AdminCli, WorkersListsNoneWithoutWorkers) {
  boost::json::value workers = RunJson({"workers", "--json"});
  EXPECT_TRUE(workers.at("workers").as_array().empty());
  std::unique_ptr<Process> human = Run({"workers"});
  EXPECT_EQ(human->WaitExit(), 0);
  EXPECT_EQ(human->out(), "no live workers\n");
}

TEST_F(AdminCli, UnreachableRedisExitsOne) {
  ProcessOptions options;
  options.args = {BANANAS_BIN, "queues"};
  options.env = {{"REDIS_URL", "redis://127.0.0.1:" + std::to_string(FreePort()) + "/0"}};
  std::unique_ptr<Process> p = RunToExit(std::move(options));
  EXPECT_EQ(p->WaitExit(), 1) << p->Output();
  EXPECT_NE(p->err().find("bananas queues: "), std::string::npos) << p->Output();
}

// One HTTP/1.1 GET with Connection: close; the raw answer.
std::string HttpGet(int port, const std::string& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return "";
  }
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return "";
  }
  std::string answer;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0)
    answer.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  return answer;
}

TEST_F(AdminCli, ApiCommandPrintsItsPortServesAndStopsOnSigterm) {
  ProcessOptions options;
  options.args = {BANANAS_BIN, "api", "--api-port", "0", "--pprof-port", "0"};
  options.env = {{"REDIS_URL", redis_->url()}};
  Result<std::unique_ptr<Process>> api = Process::Start(std::move(options));
  ASSERT_OK(api);
  ASSERT_TRUE((*api)->WaitForStdout("bananas api: ready")) << (*api)->Output();
  const std::string address = Field((*api)->out(), "API: ");
  const int port = std::atoi(address.substr(address.rfind(':') + 1).c_str());
  ASSERT_GT(port, 0) << (*api)->Output();
  EXPECT_EQ(HttpGet(port, "/healthz").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_TRUE(WaitFor([&] { return HttpGet(port, "/readyz").rfind("HTTP/1.1 200", 0) == 0; }));
  (*api)->Signal(SIGTERM);
  EXPECT_EQ((*api)->WaitExit(), 0) << (*api)->Output();
  EXPECT_NE((*api)->out().find("bananas api: stopped"), std::string::npos) << (*api)->Output();
  EXPECT_TRUE(PortRefuses(port));
}

}  // namespace
}  // namespace bananas::testing
