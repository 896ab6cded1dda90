// Inspector: reads and administers queues — counts per state, the dead-letter queue (DLQ),
// live workers — and pauses or resumes queues. It is what the admin CLI and the dashboard
// build on; jobs themselves are submitted, read and cancelled through Client.
//
// Thread safety: safe to share across threads; calls are serialised on one Redis
// connection (use several Inspectors for parallel use).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bananas/job.h"
#include "bananas/status.h"

namespace bananas {

struct InspectorOptions {
  std::string redis_url = "redis://127.0.0.1:6379/0";  // REDIS_URL
  std::string prefix = "bananas";                      // BANANAS_PREFIX
};

// One queue (routing key) and how many of its jobs are in each state.
struct QueueInfo {
  std::string name;
  bool paused = false;
  std::array<int64_t, kPriorityCount> pending{};  // indexed by Priority
  int64_t scheduled = 0;
  int64_t active = 0;
  int64_t retrying = 0;
  int64_t dead = 0;  // in the DLQ
};

// One page of the DLQ, newest death first.
struct DeadJobs {
  std::vector<Job> jobs;
  int64_t total = 0;  // dead jobs in the queue(s) listed, not only on this page
};

// A worker process as its last heartbeat described it.
struct WorkerInfo {
  std::string id;
  std::string host;
  int64_t pid = 0;
  std::vector<std::string> queues;
  int concurrency = 0;
  int active = 0;  // jobs running at the last heartbeat
  int64_t started_unix_ms = 0;
  int64_t last_heartbeat_unix_ms = 0;
};

class Inspector {
 public:
  // The most jobs one call moves or deletes in bulk, and the largest DLQ page.
  static constexpr int64_t kMaxBulk = 10'000;
  static constexpr int64_t kMaxPage = 1'000;

  // InvalidArgument names a bad option (REDIS_URL). Does not fail when Redis is down: calls
  // then return Unavailable until it is back.
  [[nodiscard]] static Result<std::unique_ptr<Inspector>> Connect(const InspectorOptions& options);
  Inspector(const Inspector&) = delete;
  Inspector& operator=(const Inspector&) = delete;
  ~Inspector();

  // Every queue ever used, sorted by name, with its counts. The counts of one queue are read
  // in one round trip, but queues are read one after the other: a queue's figures are a
  // consistent snapshot only approximately (jobs move while they are counted).
  [[nodiscard]] Result<std::vector<QueueInfo>> Queues();
  // One queue; InvalidArgument for a bad name. A queue never used reads as empty.
  [[nodiscard]] Result<QueueInfo> Queue(std::string_view name);

  // Workers stop taking jobs of a paused queue (running ones finish); submissions are still
  // accepted. Both are idempotent; InvalidArgument for a bad name.
  [[nodiscard]] Status Pause(std::string_view queue);
  [[nodiscard]] Status Resume(std::string_view queue);

  // A page of the DLQ of `queue`, or of every queue when `queue` is empty (merged by time of
  // death). InvalidArgument when limit is not 1..kMaxPage, offset is negative, or (every
  // queue) offset + limit exceeds kMaxPage.
  [[nodiscard]] Result<DeadJobs> ListDead(std::string_view queue, int64_t offset, int64_t limit);
  // Makes one dead job pending again with fresh attempts. NotFound when it is not in the DLQ.
  [[nodiscard]] Status RetryDead(std::string_view id);
  // Retries the oldest `limit` (1..kMaxBulk) dead jobs of `queue`, or of every queue when it is
  // empty; returns how many moved.
  [[nodiscard]] Result<int64_t> RetryAllDead(std::string_view queue, int64_t limit = kMaxBulk);
  // Deletes one dead job for good. NotFound when it is not in the DLQ.
  [[nodiscard]] Status PurgeDead(std::string_view id);
  // Deletes the oldest `limit` (1..kMaxBulk) dead jobs of `queue` (every queue when empty);
  // returns how many were deleted.
  [[nodiscard]] Result<int64_t> PurgeAllDead(std::string_view queue, int64_t limit = kMaxBulk);

  // Workers whose last heartbeat is recent enough for their record to live (about three
  // heartbeat periods), sorted by id.
  [[nodiscard]] Result<std::vector<WorkerInfo>> Workers();

 private:
  class Impl;
  explicit Inspector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bananas
