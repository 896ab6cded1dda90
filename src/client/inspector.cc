#include "bananas/inspector.h"

#include <algorithm>
#include <charconv>
#include <mutex>

#include "base/clock.h"
#include "base/job_id.h"
#include "queue/broker.h"
#include "redis/connection.h"

namespace bananas {
namespace {

// Entries of <p>:workers whose record (<p>:worker:<id>) is gone and whose last beat is older
// than this are dropped when the list is read: a worker that crashed never removes its own
// entry. The margin covers a worker's first beat, which adds the entry before the record.
constexpr int64_t kStaleWorkerMs = 60'000;

int64_t ToInteger(std::string_view text) {
  int64_t n = 0;
  std::from_chars(text.data(), text.data() + text.size(), n);
  return n;
}

std::vector<std::string> SplitCommas(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    if (comma != 0) out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

QueueInfo ToQueueInfo(const queue::QueueCounts& counts) {
  QueueInfo info;
  info.name = counts.queue;
  info.paused = counts.paused;
  for (int i = 0; i < kPriorityCount; ++i) info.pending[static_cast<size_t>(i)] = counts.pending[i];
  info.scheduled = counts.scheduled;
  info.active = counts.active;
  info.retrying = counts.retrying;
  info.dead = counts.dead;
  return info;
}

Status CheckBulkLimit(int64_t limit) {
  if (limit < 1 || limit > Inspector::kMaxBulk) {
    return Status::InvalidArgument("limit: must be from 1 to " +
                                   std::to_string(Inspector::kMaxBulk));
  }
  return Status::Ok();
}

// The queue of a job id, checked as a queue name: a hand-made id must not put a brace into a
// key's hash tag.
Result<std::string> QueueOfId(std::string_view id) {
  std::string_view queue = QueueOfJobId(id);
  if (queue.empty() || !ValidateQueueName(queue).ok()) {
    return Status::NotFound("job " + std::string(id) + ": not a job id");
  }
  return std::string(queue);
}

}  // namespace

class Inspector::Impl {
 public:
  Impl(std::unique_ptr<redis::Connection> connection, const InspectorOptions& options)
      : connection_(std::move(connection)),
        broker_(*connection_, BrokerOptionsFrom(options)),
        prefix_(options.prefix) {}

  Result<std::vector<QueueInfo>> Queues() {
    std::lock_guard<std::mutex> lock(mu_);
    auto names = broker_.Queues();
    if (!names) return names.status();
    std::vector<QueueInfo> out;
    out.reserve(names->size());
    for (const std::string& name : *names) {
      auto counts = broker_.Counts(name);
      if (!counts) return counts.status();
      out.push_back(ToQueueInfo(*counts));
    }
    return out;
  }

  Result<QueueInfo> Queue(std::string_view name) {
    BANANAS_RETURN_IF_ERROR(ValidateQueueName(name));
    std::lock_guard<std::mutex> lock(mu_);
    auto counts = broker_.Counts(name);
    if (!counts) return counts.status();
    return ToQueueInfo(*counts);
  }

  Status Pause(std::string_view queue) {
    BANANAS_RETURN_IF_ERROR(ValidateQueueName(queue));
    std::lock_guard<std::mutex> lock(mu_);
    return broker_.Pause(queue);
  }

  Status Resume(std::string_view queue) {
    BANANAS_RETURN_IF_ERROR(ValidateQueueName(queue));
    std::lock_guard<std::mutex> lock(mu_);
    return broker_.Resume(queue);
  }

  Result<DeadJobs> ListDead(std::string_view queue, int64_t offset, int64_t limit) {
    if (limit < 1 || limit > kMaxPage) {
      return Status::InvalidArgument("limit: must be from 1 to " + std::to_string(kMaxPage));
    }
    if (offset < 0) return Status::InvalidArgument("offset: must not be negative");
    std::lock_guard<std::mutex> lock(mu_);
    if (!queue.empty()) {
      BANANAS_RETURN_IF_ERROR(ValidateQueueName(queue));
      auto page = broker_.ListDead(queue, offset, limit);
      if (!page) return page.status();
      return DeadJobs{std::move(page->jobs), page->total};
    }
    // Every queue: the first offset + limit of each, merged by time of death.
    if (offset + limit > kMaxPage) {
      return Status::InvalidArgument(
          "offset: with no queue given, offset + limit must be at most " +
          std::to_string(kMaxPage));
    }
    auto names = broker_.Queues();
    if (!names) return names.status();
    DeadJobs all;
    for (const std::string& name : *names) {
      auto page = broker_.ListDead(name, 0, offset + limit);
      if (!page) return page.status();
      all.total += page->total;
      for (Job& job : page->jobs) all.jobs.push_back(std::move(job));
    }
    std::stable_sort(all.jobs.begin(), all.jobs.end(), [](const Job& a, const Job& b) {
      return a.finished_unix_ms != b.finished_unix_ms ? a.finished_unix_ms > b.finished_unix_ms
                                                      : a.id > b.id;
    });
    size_t begin = std::min(all.jobs.size(), static_cast<size_t>(offset));
    size_t end = std::min(all.jobs.size(), static_cast<size_t>(offset + limit));
    all.jobs = std::vector<Job>(std::make_move_iterator(all.jobs.begin() + begin),
                                std::make_move_iterator(all.jobs.begin() + end));
    return all;
  }

  Status RetryDead(std::string_view id) {
    auto queue = QueueOfId(id);
    if (!queue) return queue.status();
    std::lock_guard<std::mutex> lock(mu_);
    auto moved = broker_.RetryDead(*queue, {std::string(id)}, 1);
    if (!moved) return moved.status();
    if (*moved == 0) {
      return Status::NotFound("job " + std::string(id) + ": not in the dead-letter queue");
    }
    return Status::Ok();
  }

  Status PurgeDead(std::string_view id) {
    auto queue = QueueOfId(id);
    if (!queue) return queue.status();
    std::lock_guard<std::mutex> lock(mu_);
    auto deleted = broker_.PurgeDead(*queue, {std::string(id)}, 1);
    if (!deleted) return deleted.status();
    if (*deleted == 0) {
      return Status::NotFound("job " + std::string(id) + ": not in the dead-letter queue");
    }
    return Status::Ok();
  }

  // RetryAllDead and PurgeAllDead: `op` is Broker::RetryDead or Broker::PurgeDead.
  template <typename Op>
  Result<int64_t> Bulk(std::string_view queue, int64_t limit, Op op) {
    BANANAS_RETURN_IF_ERROR(CheckBulkLimit(limit));
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> names;
    if (!queue.empty()) {
      BANANAS_RETURN_IF_ERROR(ValidateQueueName(queue));
      names.emplace_back(queue);
    } else {
      auto all = broker_.Queues();
      if (!all) return all.status();
      names = std::move(*all);
    }
    int64_t done = 0;
    for (const std::string& name : names) {
      if (done >= limit) break;
      auto n = op(broker_, name, limit - done);
      if (!n) return n.status();
      done += *n;
    }
    return done;
  }

  Result<std::vector<WorkerInfo>> Workers() {
    std::lock_guard<std::mutex> lock(mu_);
    // If you change these names or the record's fields, change Beat/WriteRecord in
    // src/worker/worker.cc (the writer) and the keys table of docs/ARCHITECTURE.md.
    const std::string index = prefix_ + ":workers";
    auto ids =
        connection_->Run(redis::Command("ZRANGE").Arg(index).Arg(0).Arg(-1).Arg("WITHSCORES"));
    if (!ids) return ids.status().WithContext("inspector.Workers");
    if (!ids->is_array() || ids->elements.size() % 2 != 0) {
      return Status::Internal("inspector.Workers: unexpected reply " + ids->Describe());
    }
    std::vector<std::pair<std::string, int64_t>> entries;
    for (size_t i = 0; i + 1 < ids->elements.size(); i += 2) {
      entries.emplace_back(ids->elements[i].str, ToInteger(ids->elements[i + 1].str));
    }
    std::vector<WorkerInfo> out;
    if (entries.empty()) return out;
    redis::Pipeline records;
    for (const auto& [id, beat] : entries) {
      records.Add(redis::Command("HGETALL").Arg(prefix_ + ":worker:" + id));
    }
    auto replies = connection_->Run(records);
    if (!replies) return replies.status().WithContext("inspector.Workers");
    int64_t now = NowUnixMs();
    redis::Command drop("ZREM");
    drop.Arg(index);
    size_t dropped = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
      const redis::Reply& r = (*replies)[i];
      if (!r.is_array() || r.elements.empty()) {
        if (entries[i].second < now - kStaleWorkerMs) {
          drop.Arg(entries[i].first);
          ++dropped;
        }
        continue;
      }
      WorkerInfo w;
      w.id = entries[i].first;
      for (size_t k = 0; k + 1 < r.elements.size(); k += 2) {
        const std::string& field = r.elements[k].str;
        const std::string& value = r.elements[k + 1].str;
        if (field == "host") {
          w.host = value;
        } else if (field == "pid") {
          w.pid = ToInteger(value);
        } else if (field == "queues") {
          w.queues = SplitCommas(value);
        } else if (field == "concurrency") {
          w.concurrency = static_cast<int>(ToInteger(value));
        } else if (field == "active") {
          w.active = static_cast<int>(ToInteger(value));
        } else if (field == "started_at") {
          w.started_unix_ms = ToInteger(value);
        } else if (field == "last_heartbeat") {
          w.last_heartbeat_unix_ms = ToInteger(value);
        }
      }
      out.push_back(std::move(w));
    }
    if (dropped > 0) {
      // Housekeeping only: a failure leaves the stale entries for the next reader.
      auto removed = connection_->Run(drop);
      if (!removed) return removed.status().WithContext("inspector.Workers: drop stale entries");
    }
    std::sort(out.begin(), out.end(),
              [](const WorkerInfo& a, const WorkerInfo& b) { return a.id < b.id; });
    return out;
  }

 private:
  static queue::BrokerOptions BrokerOptionsFrom(const InspectorOptions& options) {
    queue::BrokerOptions b;
    b.prefix = options.prefix;
    return b;
  }

  std::mutex mu_;
  std::unique_ptr<redis::Connection> connection_;  // Guarded by mu_ (with broker_).
  queue::Broker broker_;                           // Guarded by mu_.
  const std::string prefix_;
};

Result<std::unique_ptr<Inspector>> Inspector::Connect(const InspectorOptions& options) {
  auto redis_options = redis::Options::FromUrl(options.redis_url);
  if (!redis_options) return redis_options.status();
  auto connection = redis::Connection::Open(*redis_options);
  if (!connection) return connection.status();
  return std::unique_ptr<Inspector>(
      new Inspector(std::make_unique<Impl>(std::move(*connection), options)));
}

Inspector::Inspector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Inspector::~Inspector() = default;

Result<std::vector<QueueInfo>> Inspector::Queues() { return impl_->Queues(); }
Result<QueueInfo> Inspector::Queue(std::string_view name) { return impl_->Queue(name); }
Status Inspector::Pause(std::string_view queue) { return impl_->Pause(queue); }
Status Inspector::Resume(std::string_view queue) { return impl_->Resume(queue); }

Result<DeadJobs> Inspector::ListDead(std::string_view queue, int64_t offset, int64_t limit) {
  return impl_->ListDead(queue, offset, limit);
}

Status Inspector::RetryDead(std::string_view id) { return impl_->RetryDead(id); }
Status Inspector::PurgeDead(std::string_view id) { return impl_->PurgeDead(id); }

Result<int64_t> Inspector::RetryAllDead(std::string_view queue, int64_t limit) {
  return impl_->Bulk(queue, limit,
                     [](queue::Broker& broker, const std::string& name, int64_t left) {
                       return broker.RetryDead(name, {}, left);
                     });
}

Result<int64_t> Inspector::PurgeAllDead(std::string_view queue, int64_t limit) {
  return impl_->Bulk(queue, limit,
                     [](queue::Broker& broker, const std::string& name, int64_t left) {
                       return broker.PurgeDead(name, {}, left);
                     });
}

Result<std::vector<WorkerInfo>> Inspector::Workers() { return impl_->Workers(); }

}  // namespace bananas
