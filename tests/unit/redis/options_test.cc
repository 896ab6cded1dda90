#include "redis/options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace bananas::redis {
namespace {

using std::chrono::milliseconds;

TEST(OptionsTest, HostOnlyTakesDefaults) {
  Result<Options> options = Options::FromUrl("redis://cache.internal");
  ASSERT_OK(options);
  EXPECT_EQ(options->host, "cache.internal");
  EXPECT_EQ(options->port, 6379);
  EXPECT_EQ(options->db, 0);
  EXPECT_TRUE(options->username.empty());
  EXPECT_TRUE(options->password.empty());
  EXPECT_FALSE(options->tls);
  EXPECT_EQ(options->connect_timeout, milliseconds(2000));
  EXPECT_EQ(options->io_timeout, milliseconds(5000));
}

TEST(OptionsTest, FullFormParsesEveryPart) {
  Result<Options> options = Options::FromUrl("redis://alice:s3cret@10.0.0.7:6380/4");
  ASSERT_OK(options);
  EXPECT_EQ(options->host, "10.0.0.7");
  EXPECT_EQ(options->port, 6380);
  EXPECT_EQ(options->username, "alice");
  EXPECT_EQ(options->password, "s3cret");
  EXPECT_EQ(options->db, 4);
}

TEST(OptionsTest, PasswordOnlyForm) {
  Result<Options> options = Options::FromUrl("redis://:s3cret@localhost:6379/0");
  ASSERT_OK(options);
  EXPECT_TRUE(options->username.empty());
  EXPECT_EQ(options->password, "s3cret");
  EXPECT_EQ(options->host, "localhost");
}

TEST(OptionsTest, TrailingSlashMeansDbZero) {
  Result<Options> options = Options::FromUrl("redis://localhost:7000/");
  ASSERT_OK(options);
  EXPECT_EQ(options->db, 0);
  EXPECT_EQ(options->port, 7000);
}

TEST(OptionsTest, RedissSetsTls) {
  Result<Options> options = Options::FromUrl("rediss://:pw@redis.example.com:6380/1");
  ASSERT_OK(options);
  EXPECT_TRUE(options->tls);
  EXPECT_EQ(options->port, 6380);
}

TEST(OptionsTest, PercentEncodedCredentialsAreDecoded) {
  Result<Options> options = Options::FromUrl("redis://us%40er:p%3Aa%2Fs%40s%25@host/2");
  ASSERT_OK(options);
  EXPECT_EQ(options->username, "us@er");
  EXPECT_EQ(options->password, "p:a/s@s%");
  EXPECT_EQ(options->host, "host");
  EXPECT_EQ(options->db, 2);
}

TEST(OptionsTest, RawAtAndSlashInPasswordSplitAtLastAt) {
  Result<Options> options = Options::FromUrl("redis://:p@ss/word@host:6390/3");
  ASSERT_OK(options);
  EXPECT_EQ(options->password, "p@ss/word");
  EXPECT_EQ(options->host, "host");
  EXPECT_EQ(options->port, 6390);
  EXPECT_EQ(options->db, 3);
}

TEST(OptionsTest, BracketedIpv6Host) {
  Result<Options> options = Options::FromUrl("redis://[::1]:6381/5");
  ASSERT_OK(options);
  EXPECT_EQ(options->host, "::1");
  EXPECT_EQ(options->port, 6381);
  EXPECT_EQ(options->db, 5);
  EXPECT_EQ(options->Endpoint(), "[::1]:6381/5");

  Result<Options> no_port = Options::FromUrl("redis://[fe80::1]");
  ASSERT_OK(no_port);
  EXPECT_EQ(no_port->host, "fe80::1");
  EXPECT_EQ(no_port->port, 6379);
}

TEST(OptionsTest, QueryTimeoutsUseDurationSyntax) {
  Result<Options> options =
      Options::FromUrl("redis://localhost:6379/0?connect_timeout=250ms&io_timeout=30s");
  ASSERT_OK(options);
  EXPECT_EQ(options->connect_timeout, milliseconds(250));
  EXPECT_EQ(options->io_timeout, milliseconds(30000));

  Result<Options> bare = Options::FromUrl("redis://localhost?io_timeout=2");
  ASSERT_OK(bare);
  EXPECT_EQ(bare->io_timeout, milliseconds(2000));
  EXPECT_EQ(bare->db, 0);
}

TEST(OptionsTest, EndpointNamesUserButNeverPassword) {
  Result<Options> options = Options::FromUrl("redis://alice:s3cret@10.0.0.7:6380/4");
  ASSERT_OK(options);
  EXPECT_EQ(options->Endpoint(), "alice@10.0.0.7:6380/4");
  Options defaults;
  EXPECT_EQ(defaults.Endpoint(), "127.0.0.1:6379/0");
}

// Each bad URL is rejected with InvalidArgument naming REDIS_URL and `mentions`.
struct BadUrl {
  std::string url;
  std::string mentions;
};

TEST(OptionsTest, BadUrlsNameTheProblem) {
  const std::vector<BadUrl> cases = {
      {"localhost:6379", "expected redis://"},
      {"http://localhost", "unknown scheme \"http\""},
      {"redis://", "missing host"},
      {"redis://:pw@", "missing host"},
      {"redis://localhost:0", "invalid port \"0\""},
      {"redis://localhost:65536", "invalid port \"65536\""},
      {"redis://localhost:http", "invalid port \"http\""},
      {"redis://localhost:", "invalid port \"\""},
      {"redis://localhost/db1", "invalid database \"db1\""},
      {"redis://localhost/-1", "invalid database \"-1\""},
      {"redis://localhost/1/2", "invalid database \"1/2\""},
      {"redis://::1:6379", "brackets"},
      {"redis://[::1:6379", "not closed"},
      {"redis://[::1]x", "after the IPv6 host"},
      {"redis://local host", "invalid character in host"},
      {"redis://localhost?timeout=1s", "unknown parameter \"timeout\""},
      {"redis://localhost?io_timeout=fast", "io_timeout"},
      {"redis://localhost?connect_timeout=0ms", "connect_timeout must be positive"},
      {"redis://user@localhost", "user info without a ':'"},
      {"redis://user:@localhost", "empty password"},
      {"redis://:bad%zzescape@localhost", "%-escape in the password"},
      {"redis://:bad%2@localhost", "%-escape in the password"},
  };
  for (const BadUrl& c : cases) {
    Result<Options> options = Options::FromUrl(c.url);
    ASSERT_FALSE(options.ok()) << c.url;
    EXPECT_TRUE(options.status().IsInvalidArgument()) << options.status().ToString();
    EXPECT_NE(options.status().message().find("REDIS_URL"), std::string::npos)
        << options.status().ToString();
    EXPECT_NE(options.status().message().find(c.mentions), std::string::npos)
        << c.url << " -> " << options.status().ToString();
  }
}

TEST(OptionsTest, ErrorsNeverEchoThePassword) {
  const std::string secret = "Hunter2Secret";
  const std::vector<std::string> urls = {
      "redis://alice:" + secret + "@host:99999/0",
      "redis://:" + secret + "@host/notadb",
      "redis://:" + secret + "@host?io_timeout=soon",
      "redis://:" + secret + "@host?password=" + secret,
      "redis://:" + secret + "%zz@host",
      "redis://:" + secret + "@",
      "redis://:" + secret + "@[::1",
      "http://:" + secret + "@host",
      "redis:/:" + secret + "@host",
      secret + "://host",
      "redis://" + secret + "@host",
  };
  for (const std::string& url : urls) {
    Result<Options> options = Options::FromUrl(url);
    ASSERT_FALSE(options.ok()) << "accepted a bad URL";
    EXPECT_EQ(options.status().ToString().find(secret), std::string::npos)
        << options.status().ToString();
  }
}

TEST(OptionsTest, RedactUrlMasksOnlyThePassword) {
  EXPECT_EQ(RedactUrl("redis://user:s3cret@host:6379/0"), "redis://user:***@host:6379/0");
  EXPECT_EQ(RedactUrl("redis://:s3cret@host"), "redis://:***@host");
  EXPECT_EQ(RedactUrl("rediss://:p@ss/w@host:6380/1?io_timeout=1s"),
            "rediss://:***@host:6380/1?io_timeout=1s");
  // A lone user info may be a password to some clients, so it is masked too.
  EXPECT_EQ(RedactUrl("redis://s3cret@host"), "redis://***@host");
}

TEST(OptionsTest, RedactUrlLeavesUrlsWithoutPasswordAlone) {
  EXPECT_EQ(RedactUrl("redis://host:6379/0"), "redis://host:6379/0");
  EXPECT_EQ(RedactUrl("redis://user:@host"), "redis://user:@host");
  EXPECT_EQ(RedactUrl("not a url"), "not a url");
  EXPECT_EQ(RedactUrl(""), "");
}

}  // namespace
}  // namespace bananas::redis
