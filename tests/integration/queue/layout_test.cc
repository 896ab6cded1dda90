// Broker::CheckLayout (issue 14): a service starts only on data in the key layout it speaks.
#include <string>

#include "queue_fixture.h"

namespace bananas::testing {
namespace {

class CheckLayout : public QueueTest {};

TEST_F(CheckLayout, NewRedisIsMarkedLayout2) {
  ASSERT_OK(broker_->CheckLayout());
  EXPECT_EQ(Cmd({"GET", keys().Layout()}).str, "2");
  ASSERT_OK(broker_->CheckLayout());  // and stays accepted
  // Queues registered since do not matter once the layout is written.
  Submit();
  ASSERT_OK(broker_->CheckLayout());
}

TEST_F(CheckLayout, Layout1IsRefusedNamingTheMigration) {
  Cmd({"SET", keys().Layout(), "1"});
  Status s = broker_->CheckLayout();
  EXPECT_TRUE(s.IsFailedPrecondition()) << s.ToString();
  EXPECT_NE(s.message().find("key layout 1"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("bananas migrate"), std::string::npos) << s.ToString();
  EXPECT_EQ(Cmd({"GET", keys().Layout()}).str, "1");  // nothing written
}

// Data written before layouts were marked: queues registered, no layout key.
TEST_F(CheckLayout, UnmarkedRedisWithLayout1JobsIsLayout1) {
  // Layout 1: a pending id whose job is a hash of its own.
  Cmd({"SADD", keys().QueueRegistry(), "default"});
  Cmd({"LPUSH", keys().Pending("default", Priority::kNormal), "ID1"});
  Cmd({"HSET", keys().LegacyJob("default", "ID1"), "state", "pending"});
  Status s = broker_->CheckLayout();
  EXPECT_TRUE(s.IsFailedPrecondition()) << s.ToString();
  EXPECT_NE(s.message().find("bananas migrate"), std::string::npos) << s.ToString();
  EXPECT_TRUE(Cmd({"GET", keys().Layout()}).is_nil());  // not claimed as layout 2
}

TEST_F(CheckLayout, JobsSubmittedBeforeAnyServiceStartedAreLayout2) {
  // A client (which never marks the layout) submitted first: the queue is registered.
  Submit();
  Cmd({"DEL", keys().Layout()});
  EXPECT_OK(broker_->CheckLayout());
  EXPECT_EQ(Cmd({"GET", keys().Layout()}).str, "2");
  EXPECT_EQ(LeaseOne().name, "noop");
}

TEST_F(CheckLayout, UnknownLayoutIsRefused) {
  Cmd({"SET", keys().Layout(), "3"});
  Status s = broker_->CheckLayout();
  EXPECT_TRUE(s.IsFailedPrecondition()) << s.ToString();
  EXPECT_NE(s.message().find("key layout 3"), std::string::npos) << s.ToString();
}

// Another prefix is another deployment: its layout is its own.
TEST_F(CheckLayout, LayoutIsPerPrefix) {
  Cmd({"SET", keys().Layout(), "1"});
  options_.prefix = "other";
  ResetBroker();
  ASSERT_OK(broker_->CheckLayout());
  EXPECT_EQ(Cmd({"GET", "other:layout"}).str, "2");
}

}  // namespace
}  // namespace bananas::testing
