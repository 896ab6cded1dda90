// redis/errors.h: every error reply Redis sends for "not now" is retryable, OOM stays
// distinguishable as "Redis is full", and everything else is permanent.
#include "redis/errors.h"

#include <gtest/gtest.h>

namespace bananas::redis {
namespace {

TEST(ErrorClassTest, NotNowRepliesAreTransient) {
  for (const char* error : {
           "LOADING Redis is loading the dataset in memory",
           "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
           "READONLY You can't write against a read only replica.",
           "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
           "TRYAGAIN Multiple keys request during rehashing of slot",
           "CLUSTERDOWN The cluster is down",
           "NOREPLICAS Not enough good replicas to write.",
           "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
           "persist to disk.",
           "ERR max number of clients reached",
       }) {
    EXPECT_EQ(ClassifyError(error), ErrorClass::kTransient) << error;
    Status status = ErrorReplyStatus(error);
    EXPECT_TRUE(status.IsUnavailable()) << status.ToString();
    EXPECT_EQ(status.message(), error);
    EXPECT_TRUE(IsRetryable(status));
    EXPECT_FALSE(IsRedisFull(status));
  }
}

TEST(ErrorClassTest, OomIsFullAndRetryable) {
  const char* error = "OOM command not allowed when used memory > 'maxmemory'.";
  EXPECT_EQ(ClassifyError(error), ErrorClass::kFull);
  Status status = ErrorReplyStatus(error);
  EXPECT_TRUE(status.IsResourceExhausted());
  EXPECT_EQ(status.ToString(),
            "ResourceExhausted: Redis is full: OOM command not allowed when used memory > "
            "'maxmemory'.");
  EXPECT_TRUE(IsRetryable(status));
  EXPECT_TRUE(IsRedisFull(status));
}

TEST(ErrorClassTest, EverythingElseIsPermanent) {
  for (const char* error : {
           "ERR unknown command 'NOSUCH'",
           "WRONGTYPE Operation against a key holding the wrong kind of value",
           "NOSCRIPT No matching script. Please use EVAL.",
           "NOAUTH Authentication required.",
           "BUSYKEY Target key name already exists.",  // first word compared whole
           "BUSYGROUP Consumer Group name already exists",
           "ERR user_script:1: Script attempted to access nonexistent global variable 'x'",
           "LOADINGX not a class",
           "",
       }) {
    EXPECT_EQ(ClassifyError(error), ErrorClass::kPermanent) << error;
    Status status = ErrorReplyStatus(error);
    EXPECT_EQ(status.code(), Status::Code::kInternal) << error;
    EXPECT_FALSE(IsRetryable(status));
  }
}

TEST(ErrorClassTest, ConnectionFailuresAreRetryableOthersAreNot) {
  EXPECT_TRUE(IsRetryable(Status::Unavailable("connect failed")));
  EXPECT_FALSE(IsRetryable(Status::Ok()));
  EXPECT_FALSE(IsRetryable(Status::InvalidArgument("BANANAS bad")));
  EXPECT_FALSE(IsRetryable(Status::Internal("script x: bad shape")));
  EXPECT_FALSE(IsRedisFull(Status::Unavailable("connect failed")));
}

}  // namespace
}  // namespace bananas::redis
