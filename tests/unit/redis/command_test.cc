#include "redis/command.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace bananas::redis {
namespace {

using namespace std::string_literals;

TEST(CommandTest, NameAloneEncodesAsOneElementArray) {
  Command ping("PING");
  EXPECT_EQ(ping.Encode(), "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(ping.name(), "PING");
  EXPECT_EQ(ping.arg_count(), 1u);
}

TEST(CommandTest, StringArgumentsAreBulkStrings) {
  Command set("SET");
  set.Arg("key").Arg(std::string("value"));
  EXPECT_EQ(set.Encode(), "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");
  EXPECT_EQ(set.arg_count(), 3u);
}

TEST(CommandTest, ArgumentsAreBinarySafe) {
  const std::string tricky = "a\0b\r\n$3\r\n*"s;
  Command set("SET");
  set.Arg("k").Arg(tricky).Arg("");
  EXPECT_EQ(set.Encode(), "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n"s + tricky + "\r\n$0\r\n\r\n");
}

TEST(CommandTest, IntegersAreDecimalText) {
  Command cmd("X");
  cmd.Arg(int64_t{-42})
      .Arg(7)
      .Arg(uint64_t{18446744073709551615u})
      .Arg(std::numeric_limits<int64_t>::min());
  EXPECT_EQ(cmd.Encode(),
            "*5\r\n$1\r\nX\r\n$3\r\n-42\r\n$1\r\n7\r\n$20\r\n18446744073709551615\r\n"
            "$20\r\n-9223372036854775808\r\n");
}

TEST(CommandTest, DoublesRoundTripExactly) {
  Command cmd("ZADD");
  cmd.Arg(1.5).Arg(0.1).Arg(-2.0).Arg(1e300).Arg(1.0 / 3.0);
  EXPECT_EQ(cmd.Encode(),
            "*6\r\n$4\r\nZADD\r\n$3\r\n1.5\r\n$3\r\n0.1\r\n$2\r\n-2\r\n$6\r\n1e+300\r\n"
            "$18\r\n0.3333333333333333\r\n");
  EXPECT_EQ(std::stod("0.3333333333333333"), 1.0 / 3.0);
}

TEST(CommandTest, InfinitiesUseRedisSpelling) {
  Command cmd("ZRANGEBYSCORE");
  cmd.Arg(-std::numeric_limits<double>::infinity()).Arg(std::numeric_limits<double>::infinity());
  EXPECT_EQ(cmd.Encode(), "*3\r\n$13\r\nZRANGEBYSCORE\r\n$4\r\n-inf\r\n$3\r\ninf\r\n");
}

TEST(CommandTest, AppendToMatchesEncode) {
  Command cmd("GET");
  cmd.Arg("k");
  std::string out = "prefix";
  cmd.AppendTo(out);
  EXPECT_EQ(out, "prefix" + cmd.Encode());
}

TEST(PipelineTest, ConcatenatesEncodingsInOrder) {
  Pipeline pipeline;
  EXPECT_TRUE(pipeline.empty());
  EXPECT_EQ(pipeline.Describe(), "empty pipeline");
  pipeline.Add(Command("SET").Arg("a").Arg("1")).Add(Command("GET").Arg("a"));
  EXPECT_EQ(pipeline.size(), 2u);
  EXPECT_FALSE(pipeline.empty());
  EXPECT_EQ(pipeline.encoded(),
            "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n");
}

TEST(PipelineTest, DescribeNamesFirstCommandAndCount) {
  Pipeline pipeline;
  pipeline.Add(Command("INCR").Arg("n"));
  EXPECT_EQ(pipeline.Describe(), "INCR");
  pipeline.Add(Command("GET").Arg("n")).Add(Command("GET").Arg("m"));
  EXPECT_EQ(pipeline.Describe(), "INCR and 2 more");
}

}  // namespace
}  // namespace bananas::redis
