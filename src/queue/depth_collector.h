// DepthCollector: the queue-depth gauges of /metrics, read from Redis at scrape time.
//
//   bananas_queue_jobs{queue, state, priority}   pending by priority (high, normal, low);
//                                                scheduled, active, retrying, dead with
//                                                priority="all" (those sets are not split)
//   bananas_queue_paused{queue}                  1 while paused
//   bananas_queue_depth_read_errors_total        scrapes that could not read Redis
//
// Pending is a list's length less its tombstones (PendingDepth in broker.h).
//
// Cost: one pipelined round trip per read (SMEMBERS of the registry plus EXISTS/LLEN/ZCARD/
// HMGET for every queue known from the previous read; a second round trip only when the registry
// grew), and at most one read per `cache_for` (1 s by default) whatever the scrape rate, so
// many Prometheus servers, or a dashboard refreshing fast, cannot hammer Redis. A failed
// read is cached as long: while Redis is down a scrape costs nothing and shows no depth.
// At most kMaxQueues queues are read.
//
// Thread safety: Collect is thread-safe (one read at a time, on its own connection).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "queue/broker.h"
#include "queue/keys.h"
#include "redis/connection.h"
#include "redis/options.h"

namespace bananas::obs {
class Exposition;
}

namespace bananas::queue {

class DepthCollector {
 public:
  static constexpr size_t kMaxQueues = 1000;

  DepthCollector(redis::Options options, std::string prefix,
                 std::chrono::milliseconds cache_for = std::chrono::seconds(1));
  DepthCollector(const DepthCollector&) = delete;
  DepthCollector& operator=(const DepthCollector&) = delete;

  // Writes the families above; reads Redis when the cached read is older than cache_for.
  void Collect(obs::Exposition& out);

 private:
  // REQUIRES: mu_ held. One round trip; true if the registry named queues not yet read.
  Status Read(bool& registry_grew);

  const Keys keys_;
  const std::chrono::milliseconds cache_for_;
  redis::Options options_;
  std::mutex mu_;
  // Guarded by mu_.
  std::unique_ptr<redis::Connection> connection_;
  std::vector<std::string> known_queues_;
  std::vector<QueueCounts> counts_;
  bool have_counts_ = false;
  std::chrono::steady_clock::time_point read_at_{};
  bool ever_read_ = false;
  uint64_t errors_ = 0;
};

}  // namespace bananas::queue
