// DepthCollector against a real redis-server: the /metrics queue-depth gauges agree with
// Counts, cancelled pending jobs included (their ids stay in the list as tombstones until a
// dequeue reaches them; issue 13).
#include "queue/depth_collector.h"

#include <string>

#include "obs/metrics.h"
#include "queue_fixture.h"

namespace bananas::testing {
namespace {

class DepthCollectorTest : public QueueTest {
 protected:
  std::string Scrape() {
    auto options = redis::Options::FromUrl(Server().url());
    EXPECT_TRUE(options.ok());
    queue::DepthCollector collector(*options, options_.prefix, std::chrono::milliseconds(0));
    obs::Exposition out;
    collector.Collect(out);
    return out.text();
  }
};

TEST_F(DepthCollectorTest, PendingGaugeLeavesCancelledJobsOut) {
  Submit("a");
  std::string cancelled = Submit("a");
  Submit("a", Priority::kHigh);
  auto r = broker_->Cancel(cancelled);
  ASSERT_OK(r);
  ASSERT_EQ(*r, queue::CancelOutcome::kCancelled);
  std::string text = Scrape();
  EXPECT_NE(text.find(R"(bananas_queue_jobs{queue="default",state="pending",priority="normal"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(bananas_queue_jobs{queue="default",state="pending",priority="high"} 1)"),
            std::string::npos)
      << text;
  auto counts = broker_->Counts("default");
  ASSERT_OK(counts);
  EXPECT_EQ(counts->pending[static_cast<int>(Priority::kNormal)], 1);
}

}  // namespace
}  // namespace bananas::testing
