#include "bananas/job.h"

#include <gtest/gtest.h>

namespace bananas {
namespace {

TEST(JobValidationTest, NamesAndQueues) {
  EXPECT_TRUE(ValidateJobName("email.send:v2_x-1").ok());
  EXPECT_FALSE(ValidateJobName("").ok());
  EXPECT_FALSE(ValidateJobName(std::string(129, 'a')).ok());
  EXPECT_FALSE(ValidateJobName("a b").ok());
  EXPECT_TRUE(ValidateQueueName("gpu-1.east_2").ok());
  EXPECT_FALSE(ValidateQueueName("a:b").ok());  // ':' is for names only
  EXPECT_FALSE(ValidateQueueName("{tag}").ok());
  EXPECT_FALSE(ValidateQueueName(std::string(65, 'q')).ok());
}

TEST(JobValidationTest, SpecErrorsNameTheField) {
  JobSpec spec;
  spec.name = "ok";
  EXPECT_TRUE(ValidateJobSpec(spec).ok());
  spec.max_retries = -1;
  EXPECT_EQ(ValidateJobSpec(spec).message().rfind("max_retries", 0), 0u);
  spec.max_retries = 3;
  spec.queue = "bad queue";
  EXPECT_EQ(ValidateJobSpec(spec).message().rfind("queue", 0), 0u);
  spec.queue = "default";
  spec.timeout_ms = kMaxJobTimeoutMs;
  EXPECT_TRUE(ValidateJobSpec(spec).ok());
  spec.timeout_ms = kMaxJobTimeoutMs + 1;
  EXPECT_EQ(ValidateJobSpec(spec).message().rfind("timeout_ms", 0), 0u);
}

TEST(JobValidationTest, PriorityAndStateNamesRoundTrip) {
  for (auto p : {Priority::kHigh, Priority::kNormal, Priority::kLow}) {
    EXPECT_EQ(*ParsePriority(PriorityName(p)), p);
  }
  EXPECT_FALSE(ParsePriority("urgent").ok());
  for (int s = 0; s <= static_cast<int>(JobState::kCancelled); ++s) {
    auto state = static_cast<JobState>(s);
    EXPECT_EQ(*ParseJobState(JobStateName(state)), state);
  }
}

}  // namespace
}  // namespace bananas
