#include "bananas/status.h"

#include <gtest/gtest.h>

namespace bananas {
namespace {

TEST(StatusTest, OkIsFreeAndPrintsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, ErrorCarriesCodeAndContext) {
  Status s = Status::LeaseLost("token 7 stale").WithContext("queue.Ack: job 01J");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsLeaseLost());
  EXPECT_EQ(s.ToString(), "LeaseLost: queue.Ack: job 01J: token 7 stale");
  Status copy = s;
  EXPECT_EQ(copy.ToString(), s.ToString());
}

TEST(ResultTest, HoldsValueOrError) {
  Result<int> v = 5;
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, 5);
  EXPECT_TRUE(v.status().ok());
  Result<int> e = Status::NotFound("job x");
  EXPECT_FALSE(e.has_value());
  EXPECT_TRUE(e.error().IsNotFound());
}

TEST(ResultTest, OkStatusBecomesInternalError) {
  Result<int> r = Status::Ok();
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(r.status().code(), Status::Code::kInternal);
}

}  // namespace
}  // namespace bananas
