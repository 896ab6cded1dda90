#include "app/flags.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "test_util.h"

namespace bananas::app {
namespace {

// Parses `args` (without the program name) for a command carrying `service`'s flags.
Overrides Parse(Service service, std::vector<std::string> args) {
  CLI::App command("test");
  Overrides overrides;
  AddConfigFlags(command, service, overrides);
  std::reverse(args.begin(), args.end());  // CLI11 takes the vector form back to front
  command.parse(args);
  return overrides;
}

TEST(Flags, EachFlagStoresUnderItsVariable) {
  Overrides overrides =
      Parse(Service::kWorker, {"--concurrency", "5", "--queues=a,b", "--redis-url", "redis://h:1/0",
                               "--builtins", "false"});
  EXPECT_EQ(overrides, (Overrides{{"WORKER_CONCURRENCY", "5"},
                                  {"WORKER_QUEUES", "a,b"},
                                  {"REDIS_URL", "redis://h:1/0"},
                                  {"WORKER_BUILTINS", "false"}}));
}

TEST(Flags, TextIsStoredUnvalidatedForLoadConfig) {
  Overrides overrides = Parse(Service::kWorker, {"--concurrency", "abc"});
  EXPECT_EQ(overrides.at("WORKER_CONCURRENCY"), "abc");
  Result<Config> config = LoadConfig(
      Service::kWorker, [](std::string_view) { return std::optional<std::string>(); }, overrides);
  ASSERT_FALSE(config);
  EXPECT_EQ(config.status().message().substr(0, 35), "WORKER_CONCURRENCY (--concurrency):");
}

TEST(Flags, ServiceSeesOnlyItsFlags) {
  EXPECT_THROW(Parse(Service::kWorker, {"--api-port", "1"}), CLI::ParseError);
  EXPECT_THROW(Parse(Service::kScheduler, {"--concurrency", "1"}), CLI::ParseError);
  EXPECT_NO_THROW(Parse(Service::kScheduler, {"--lease-timeout", "10s"}));
  EXPECT_NO_THROW(Parse(Service::kDev, {"--api-port", "1", "--concurrency", "2"}));
}

TEST(Flags, HelpNamesTheVariables) {
  CLI::App command("test");
  Overrides overrides;
  AddConfigFlags(command, Service::kWorker, overrides);
  std::string help = command.help();
  EXPECT_NE(help.find("--concurrency"), std::string::npos) << help;
  EXPECT_NE(help.find("[WORKER_CONCURRENCY]"), std::string::npos) << help;
  EXPECT_NE(help.find("--shutdown-grace"), std::string::npos) << help;
  EXPECT_EQ(help.find("--api-port"), std::string::npos) << help;
}

}  // namespace
}  // namespace bananas::app
