#include "queue/depth_collector.h"

#include <algorithm>

#include "obs/metrics.h"
#include "redis/command.h"

namespace bananas::queue {
namespace {

// Scrapes must answer quickly: a Redis that does not answer within this is reported as a
// failed read, not waited for.
constexpr std::chrono::milliseconds kReadTimeout{1000};
constexpr int kCommandsPerQueue = 9;  // EXISTS paused, 3 LLEN, 4 ZCARD, HMGET tombstones

}  // namespace

DepthCollector::DepthCollector(redis::Options options, std::string prefix,
                               std::chrono::milliseconds cache_for)
    : keys_(std::move(prefix)), cache_for_(cache_for), options_(std::move(options)) {
  options_.connect_timeout = std::min(options_.connect_timeout, kReadTimeout);
  options_.io_timeout = std::min(options_.io_timeout, kReadTimeout);
  options_.reconnect_max = std::min(options_.reconnect_max, kReadTimeout);
}

Status DepthCollector::Read(bool& registry_grew) {
  registry_grew = false;
  if (connection_ == nullptr) {
    auto opened = redis::Connection::Open(options_);
    if (!opened) return opened.status();
    connection_ = std::move(*opened);
  }
  redis::Pipeline p;
  p.Add(redis::Command("SMEMBERS").Arg(keys_.QueueRegistry()));
  for (const std::string& q : known_queues_) {
    p.Add(redis::Command("EXISTS").Arg(keys_.Paused(q)));
    for (int i = 0; i < kPriorityCount; ++i) {
      p.Add(redis::Command("LLEN").Arg(keys_.Pending(q, static_cast<Priority>(i))));
    }
    p.Add(redis::Command("ZCARD").Arg(keys_.Scheduled(q)));
    p.Add(redis::Command("ZCARD").Arg(keys_.Leases(q)));
    p.Add(redis::Command("ZCARD").Arg(keys_.Retry(q)));
    p.Add(redis::Command("ZCARD").Arg(keys_.Dead(q)));
    p.Add(StaleCountsCommand(keys_, q));
  }
  auto replies = connection_->Run(p);
  if (!replies) return replies.status();
  const auto& r = *replies;
  if (!r[0].is_array()) return Status::Internal("queue depth: SMEMBERS answered " + r[0].Describe());
  std::vector<QueueCounts> counts;
  for (size_t k = 0; k < known_queues_.size(); ++k) {
    const redis::Reply* base = &r[1 + k * kCommandsPerQueue];
    for (int j = 0; j + 1 < kCommandsPerQueue; ++j) {
      if (!base[j].is_integer()) {
        return Status::Internal("queue depth: answered " + base[j].Describe());
      }
    }
    const redis::Reply& stale = base[kCommandsPerQueue - 1];
    if (!stale.is_array() || stale.elements.size() != kPriorityCount) {
      return Status::Internal("queue depth: answered " + stale.Describe());
    }
    QueueCounts c;
    c.queue = known_queues_[k];
    c.paused = base[0].integer == 1;
    for (int i = 0; i < kPriorityCount; ++i) {
      c.pending[i] = PendingDepth(base[1 + i].integer, stale.elements[static_cast<size_t>(i)]);
    }
    c.scheduled = base[4].integer;
    c.active = base[5].integer;
    c.retrying = base[6].integer;
    c.dead = base[7].integer;
    counts.push_back(std::move(c));
  }
  std::vector<std::string> registry;
  for (const auto& e : r[0].elements) registry.push_back(e.str);
  std::sort(registry.begin(), registry.end());
  if (registry.size() > kMaxQueues) registry.resize(kMaxQueues);
  registry_grew = registry != known_queues_;
  known_queues_ = std::move(registry);
  counts_ = std::move(counts);
  return Status::Ok();
}

void DepthCollector::Collect(obs::Exposition& out) {
  std::lock_guard<std::mutex> lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (!ever_read_ || now - read_at_ >= cache_for_) {
    ever_read_ = true;
    bool grew = false;
    Status read = Read(grew);
    if (read.ok() && grew) read = Read(grew);  // new queues: read them now, not next scrape
    read_at_ = std::chrono::steady_clock::now();
    have_counts_ = read.ok();
    if (!read.ok()) ++errors_;
  }

  out.Family("bananas_queue_jobs",
             "Jobs in each queue by state (pending split by priority), read from Redis at "
             "scrape time, at most once a second.",
             "gauge");
  if (have_counts_) {
    for (const QueueCounts& c : counts_) {
      for (int i = 0; i < kPriorityCount; ++i) {
        out.Sample("bananas_queue_jobs",
                   {{"queue", c.queue},
                    {"state", "pending"},
                    {"priority", PriorityName(static_cast<Priority>(i))}},
                   c.pending[i]);
      }
      const std::pair<std::string_view, int64_t> others[] = {
          {"scheduled", c.scheduled}, {"active", c.active}, {"retrying", c.retrying},
          {"dead", c.dead}};
      for (const auto& [state, n] : others) {
        out.Sample("bananas_queue_jobs", {{"queue", c.queue}, {"state", state}, {"priority", "all"}},
                   n);
      }
    }
  }
  out.Family("bananas_queue_paused", "1 while the queue is paused.", "gauge");
  if (have_counts_) {
    for (const QueueCounts& c : counts_) {
      out.Sample("bananas_queue_paused", {{"queue", c.queue}}, int64_t{c.paused ? 1 : 0});
    }
  }
  out.Family("bananas_queue_depth_read_errors_total",
             "Scrapes whose queue-depth read from Redis failed (depth then not shown).",
             "counter");
  out.Sample("bananas_queue_depth_read_errors_total", {}, errors_);
}

}  // namespace bananas::queue
