#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "queue_fixture.h"

namespace bananas::testing {
namespace {

class WaitForWork : public QueueTest {};

TEST_F(WaitForWork, IdleWorkerIsWokenByEnqueue) {
  auto blocking = Connect();
  // Drain any stored token first.
  ASSERT_OK(broker_->WaitForWork(*blocking, {"default"}, std::chrono::milliseconds(1)));
  std::atomic<bool> woken{false};
  std::thread waiter([&] {
    auto r = broker_->WaitForWork(*blocking, {"other", "default"}, std::chrono::seconds(20));
    woken = r.ok() && *r;
  });
  // The waiter is blocked in Redis once CLIENT LIST shows a blpop.
  ASSERT_TRUE(WaitFor([&] {
    return Cmd({"CLIENT", "LIST"}).str.find("cmd=blpop") != std::string::npos;
  }));
  auto other_conn = Connect();
  queue::Broker submitter(*other_conn, options_, clock_);
  JobSpec spec;
  spec.name = "wake";
  ASSERT_OK(submitter.Enqueue(spec));
  waiter.join();
  EXPECT_TRUE(woken);
}

TEST_F(WaitForWork, TimesOutWithoutWork) {
  auto blocking = Connect();
  auto r = broker_->WaitForWork(*blocking, {"empty"}, std::chrono::milliseconds(50));
  ASSERT_OK(r);
  EXPECT_FALSE(*r);
}

TEST_F(WaitForWork, TokenStoredWhenNobodyWaitsIsNotLost) {
  // Enqueue between a worker's empty dequeue and its BLPOP: the token waits in the list.
  auto empty = broker_->Dequeue({"default", 1, {}, {}});
  ASSERT_OK(empty);
  ASSERT_TRUE(empty->empty());
  Submit();
  auto blocking = Connect();
  auto r = broker_->WaitForWork(*blocking, {"default"}, std::chrono::seconds(5));
  ASSERT_OK(r);
  EXPECT_TRUE(*r);
}

TEST_F(WaitForWork, MarkerTokensStayBounded) {
  std::vector<JobSpec> specs(100);
  for (auto& s : specs) s.name = "j";
  for (int i = 0; i < 5; ++i) ASSERT_OK(broker_->EnqueueBatch(specs));
  EXPECT_LE(Cmd({"LLEN", keys().Marker("default")}).integer, 8);
}

}  // namespace
}  // namespace bananas::testing
