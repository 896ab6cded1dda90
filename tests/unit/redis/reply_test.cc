#include "redis/reply.h"

#include <gtest/gtest.h>

#include <string>

namespace bananas::redis {
namespace {

using namespace std::string_literals;

Reply String(std::string text) {
  Reply reply;
  reply.type = Reply::Type::kString;
  reply.str = std::move(text);
  return reply;
}

TEST(ReplyTest, DescribesEachType) {
  Reply nil;
  EXPECT_TRUE(nil.is_nil());
  EXPECT_EQ(nil.Describe(), "nil");

  Reply integer;
  integer.type = Reply::Type::kInteger;
  integer.integer = -17;
  EXPECT_EQ(integer.Describe(), "-17");

  Reply status;
  status.type = Reply::Type::kStatus;
  status.str = "OK";
  EXPECT_TRUE(status.is_string());
  EXPECT_EQ(status.Describe(), "OK");

  Reply error;
  error.type = Reply::Type::kError;
  error.str = "ERR wrong type";
  EXPECT_EQ(error.Describe(), "(error) ERR wrong type");

  EXPECT_EQ(String("job").Describe(), "\"job\"");
}

TEST(ReplyTest, EscapesUnprintableBytes) {
  EXPECT_EQ(String("a\0b\r\n\"\\\xff"s).Describe(), R"("a\x00b\x0d\x0a\"\\\xff")");
}

TEST(ReplyTest, DescribesNestedArrays) {
  Reply inner;
  inner.type = Reply::Type::kArray;
  inner.elements.push_back(String("x"));
  inner.elements.push_back(Reply{});
  Reply outer;
  outer.type = Reply::Type::kArray;
  outer.elements.push_back(String("id"));
  outer.elements.push_back(inner);
  EXPECT_EQ(outer.Describe(), R"(["id", ["x", nil]])");
}

TEST(ReplyTest, TruncatesToMaxChars) {
  std::string description = String(std::string(1000, 'z')).Describe(40);
  EXPECT_EQ(description.size(), 40u);
  EXPECT_EQ(description.substr(37), "...");

  Reply many;
  many.type = Reply::Type::kArray;
  for (int i = 0; i < 10'000; ++i) many.elements.push_back(String("element"));
  EXPECT_EQ(many.Describe(100).size(), 100u);
}

}  // namespace
}  // namespace bananas::redis
