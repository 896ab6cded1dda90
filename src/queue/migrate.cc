#include "queue/migrate.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <map>
#include <set>
#include <string_view>

#include "queue/job_codec.h"
#include "queue/lua_sources.h"
#include "queue/record.h"

namespace bananas::queue {
namespace {

using redis::Reply;

const redis::Script& MigrateScript() {
  static const auto* script = new redis::Script("migrate", std::string(LuaSource("migrate")));
  return *script;
}

std::string ToString(int64_t v) { return std::to_string(v); }

bool StartsWith(std::string_view s, std::string_view head) {
  return s.substr(0, head.size()) == head;
}

// What a job's move counts as in the report.
enum class Kind {
  kPending,
  kScheduled,
  kRetrying,
  kDead,
  kRequeued,
  kCompleted,
  kCancelled,
  kExpired
};

// One job's arguments to migrate.lua (its ARGV stride) and how it is counted.
struct Move {
  std::string key;  // the layout-1 hash, for `left`
  Kind kind = Kind::kPending;
  std::string id, state, action, value, priority, suffix, expiry;
};

// `<c|x><finished>|<started>|<charged>|<len>:<result><record>` (record.h).
std::string EncodeFinal(char kind, int64_t finished, int64_t started, int charged,
                        std::string_view result, std::string_view record) {
  std::string out(1, kind);
  out += ToString(finished) + '|' + ToString(started) + '|' + ToString(charged) + '|';
  out += ToString(static_cast<int64_t>(result.size())) + ':';
  out += result;
  out += record;
  return out;
}

// The error history to carry over: layout 1's `errors` field verbatim (the same JSON layout 2
// keeps); for a job that has a last error but no history (written before there was one), a
// history of that one error.
std::string ErrorsJson(const Job& job, std::string_view errors_field) {
  if (!errors_field.empty() || job.error.empty()) return std::string(errors_field);
  boost::json::array history;
  history.emplace_back(boost::json::object{
      {"attempt", job.attempts}, {"at", job.updated_unix_ms}, {"error", job.error}});
  return boost::json::serialize(history);
}

// The Move for one decoded layout-1 job, or an error saying why it cannot move.
Result<Move> PlanMove(const Job& job, const std::vector<std::pair<std::string, std::string>>& raw,
                      const BrokerOptions& options, int64_t now) {
  std::string state, errors, lost, cancel;
  for (const auto& [field, value] : raw) {
    if (field == "state") {
      state = value;
    } else if (field == "errors") {
      errors = value;
    } else if (field == "lost") {
      lost = value;
    } else if (field == "cancel") {
      cancel = value;
    }
  }
  Record r;
  r.priority = job.priority;
  r.attempts = job.attempts;
  r.recoveries = job.recoveries;
  r.lost = !lost.empty() && lost != "0";
  r.max_retries = job.max_retries;
  r.run_at_unix_ms = job.run_at_unix_ms > 0 ? job.run_at_unix_ms : job.created_unix_ms;
  r.name = job.name;
  r.timeout_ms = job.timeout_ms;
  r.created_unix_ms = job.created_unix_ms;
  r.payload = job.payload;
  r.description = job.description;
  r.unique_key = job.unique_key;
  r.errors_json = ErrorsJson(job, errors);

  Move m;
  m.id = job.id;
  m.state = state;
  m.priority = std::string(PriorityName(job.priority));

  // A final record in the done bucket of `finished`, kept `ttl` after it (ack.lua's rule).
  auto finish = [&](char kind, int64_t finished, int charged, std::string_view result,
                    int64_t ttl) {
    m.kind = kind == 'c' ? Kind::kCompleted : Kind::kCancelled;
    // record.lua store_finals: ttl 0 keeps the bucket for good.
    int64_t width = ttl > 0 ? std::max<int64_t>(ttl / 16, 1000) : 86'400'000;
    int64_t bucket = finished / width;
    int64_t expiry = ttl > 0 ? (bucket + 1) * width + ttl : 0;
    if (ttl > 0 && expiry <= now) {
      m.kind = Kind::kExpired;
      m.action = "drop";
      return;
    }
    m.action = "done";
    m.suffix = std::string(1, kind) + ':' + ToString(bucket);
    m.expiry = ToString(expiry);
    if (kind == 'c' && charged == 1) {
      m.value = EncodeCompleted(EncodeRecord(r), job.started_unix_ms, finished, result);
    } else {
      m.value = EncodeFinal(kind, finished, job.started_unix_ms, charged, result, EncodeRecord(r));
    }
  };
  int64_t finished = job.finished_unix_ms > 0  ? job.finished_unix_ms
                     : job.updated_unix_ms > 0 ? job.updated_unix_ms
                                               : now;
  switch (job.state) {
    case JobState::kPending:
    case JobState::kScheduled:
    case JobState::kRetrying:
    case JobState::kFailed:
      m.kind = job.state == JobState::kPending     ? Kind::kPending
               : job.state == JobState::kScheduled ? Kind::kScheduled
               : job.state == JobState::kRetrying  ? Kind::kRetrying
                                                   : Kind::kDead;
      m.action = "keep";
      m.value = EncodeRecord(r);
      break;
    case JobState::kActive:
      // Its worker is gone (every service is stopped): the lease is handed back, and the
      // attempt it charged with it, as Release does.
      r.attempts = std::max(r.attempts - 1, 0);
      if (cancel == "1") {
        finish('x', now, 0, "", options.result_ttl_failure_ms);
      } else {
        m.kind = Kind::kRequeued;
        m.action = "requeue";
        m.value = EncodeRecord(r);
      }
      break;
    case JobState::kCompleted:
      // The record as leased (the final run not yet counted) plus the run: EncodeCompleted.
      if (r.attempts > 0) {
        r.attempts -= 1;
        finish('c', finished, 1, job.result, options.result_ttl_success_ms);
      } else {
        finish('c', finished, 0, job.result, options.result_ttl_success_ms);
      }
      break;
    case JobState::kCancelled:
      finish('x', finished, 0, job.result, options.result_ttl_failure_ms);
      break;
  }
  return m;
}

class Migration {
 public:
  Migration(redis::Connection& connection, const BrokerOptions& options, const Clock& clock,
            const MigrateOptions& migrate)
      : connection_(connection),
        options_(options),
        clock_(clock),
        migrate_(migrate),
        keys_(options.prefix) {}

  Result<MigrateReport> Run() {
    auto layout = connection_.Run(redis::Command("GET").Arg(keys_.Layout()));
    if (!layout) return layout.status().WithContext("migrate");
    report_.layout_before = layout->is_string() ? layout->str : "";
    const std::string& before = report_.layout_before;
    if (!before.empty() && before != "1" && before != "2") {
      return Status::FailedPrecondition("Redis holds Bananas data in key layout " + before +
                                        ", newer than this bananas knows (2): nothing changed");
    }
    bool from_layout1 = before != "2";
    from_layout1_ = from_layout1;

    auto registered = connection_.Run(redis::Command("SMEMBERS").Arg(keys_.QueueRegistry()));
    if (!registered) return registered.status().WithContext("migrate");
    for (const Reply& q : registered->elements) queues_.insert(q.str);

    std::string cursor = "0";
    do {
      auto page = connection_.Run(redis::Command("SCAN")
                                      .Arg(cursor)
                                      .Arg("MATCH")
                                      .Arg(keys_.QueueKeyPattern())
                                      .Arg("COUNT")
                                      .Arg(static_cast<int64_t>(migrate_.scan_count)));
      if (!page) return page.status().WithContext("migrate: SCAN");
      if (!page->is_array() || page->elements.size() != 2) {
        return Status::Internal("migrate: SCAN: unexpected reply " + page->Describe());
      }
      cursor = page->elements[0].str;
      for (const Reply& k : page->elements[1].elements) {
        std::string queue = keys_.QueueOfKey(k.str);
        if (queue.empty()) continue;
        queues_.insert(queue);
        std::string job_prefix = keys_.LegacyJob(queue, "");
        if (StartsWith(k.str, job_prefix)) {
          auto& ids = found_[queue];
          ids.push_back(k.str.substr(job_prefix.size()));
          if (ids.size() >= static_cast<size_t>(std::max(migrate_.batch, 1))) {
            BANANAS_RETURN_IF_ERROR(Flush(queue));
          }
        } else if (from_layout1 && StartsWith(k.str, keys_.InboxPrefix(queue))) {
          inboxes_.push_back(k.str);
        }
      }
    } while (cursor != "0");
    for (const auto& q : queues_) BANANAS_RETURN_IF_ERROR(Flush(q));

    // Idle workers' inboxes hold layout-1 copies of jobs that were active, and are requeued
    // now; their registrations name workers that are gone.
    if (from_layout1) {
      for (const auto& q : queues_) inboxes_.push_back(keys_.IdleWorkers(q));
      for (const auto& key : inboxes_) {
        auto deleted = connection_.Run(redis::Command("DEL").Arg(key));
        if (!deleted) return deleted.status().WithContext("migrate");
        report_.inboxes += deleted->integer;
      }
    }
    if (from_layout1) {
      for (const auto& q : queues_) BANANAS_RETURN_IF_ERROR(DropStaleLeases(q));
    }
    report_.queues = static_cast<int64_t>(queues_.size());

    if (report_.left.empty() || migrate_.set_layout_with_left) {
      auto set = connection_.Run(redis::Command("SET").Arg(keys_.Layout()).Arg("2"));
      if (!set) return set.status().WithContext("migrate");
      if (set->is_error()) return Status::Internal("migrate: SET layout: " + set->str);
      report_.layout_set = true;
    }
    return report_;
  }

 private:
  // Moves the ids found so far in `queue`.
  Status Flush(const std::string& queue) {
    auto it = found_.find(queue);
    if (it == found_.end() || it->second.empty()) return Status::Ok();
    if (from_layout1_ && cleaned_.insert(queue).second) {
      BANANAS_RETURN_IF_ERROR(BlankTombstones(queue));
    }
    std::vector<std::string> ids = std::move(it->second);
    it->second.clear();

    redis::Pipeline reads;
    for (const auto& id : ids) reads.Add(redis::Command("HGETALL").Arg(keys_.LegacyJob(queue, id)));
    auto replies = connection_.Run(reads);
    if (!replies) return replies.status().WithContext("migrate: HGETALL");

    int64_t now = clock_.NowMs();
    std::vector<Move> moves;
    for (size_t i = 0; i < ids.size(); ++i) {
      const Reply& r = (*replies)[i];
      std::string key = keys_.LegacyJob(queue, ids[i]);
      if (r.is_error()) {
        report_.left.push_back(key + ": " + r.str);
        continue;
      }
      if (!r.is_array() || r.elements.empty()) {
        ++report_.skipped;
        continue;
      }
      std::vector<std::pair<std::string, std::string>> fields;
      for (size_t k = 0; k + 1 < r.elements.size(); k += 2) {
        fields.emplace_back(r.elements[k].str, r.elements[k + 1].str);
      }
      auto job = DecodeJob(ids[i], fields);
      if (!job) {
        report_.left.push_back(key + ": " + job.status().message());
        continue;
      }
      auto move = PlanMove(*job, fields, options_, now);
      if (!move) {
        report_.left.push_back(key + ": " + move.status().message());
        continue;
      }
      move->key = std::move(key);
      moves.push_back(std::move(*move));
    }
    if (moves.empty()) return Status::Ok();

    std::vector<std::string> keys = {keys_.Jobs(queue),
                                     keys_.Pending(queue, Priority::kHigh),
                                     keys_.Pending(queue, Priority::kNormal),
                                     keys_.Pending(queue, Priority::kLow),
                                     keys_.Leases(queue),
                                     keys_.DonePrefix(queue),
                                     keys_.Buckets(queue),
                                     keys_.LegacyJob(queue, "")};
    std::vector<std::string> args;
    args.reserve(2 + 7 * moves.size());
    args.push_back(ToString(now));
    args.push_back(ToString(static_cast<int64_t>(moves.size())));
    for (const Move& m : moves) {
      for (const std::string* a : {&m.id, &m.state, &m.action, &m.value, &m.priority, &m.suffix}) {
        args.push_back(*a);
      }
      args.push_back(m.expiry);
    }
    auto reply = connection_.Eval(MigrateScript(), keys, args);
    if (!reply) return reply.status().WithContext("migrate: queue " + queue);
    if (!reply->is_array() || reply->elements.size() != moves.size()) {
      return Status::Internal("migrate: unexpected reply " + reply->Describe());
    }
    for (size_t i = 0; i < moves.size(); ++i) {
      int64_t outcome = reply->elements[i].integer;
      if (outcome == 0) {
        ++report_.skipped;
      } else if (outcome < 0) {
        report_.left.push_back(moves[i].key +
                               ": its state changed while migrating (is a service running?)");
      } else {
        Count(moves[i].kind);
      }
    }
    return Status::Ok();
  }

  void Count(Kind kind) {
    switch (kind) {
      case Kind::kPending:
        ++report_.pending;
        break;
      case Kind::kScheduled:
        ++report_.scheduled;
        break;
      case Kind::kRetrying:
        ++report_.retrying;
        break;
      case Kind::kDead:
        ++report_.dead;
        break;
      case Kind::kRequeued:
        ++report_.requeued;
        break;
      case Kind::kCompleted:
        ++report_.completed;
        break;
      case Kind::kCancelled:
        ++report_.cancelled;
        break;
      case Kind::kExpired:
        ++report_.expired;
        break;
    }
  }

  // Layout 1's tombstones that layout 2 would take for jobs. A type-filtered layout-1
  // dequeue that leased a job from the middle of its pending list left the id there, a
  // counted tombstone (stale), recognised by the job's state not being pending. Layout 2
  // writes such a tombstone as '' and takes any id with a record in `jobs` for a pending job:
  // that job (active, retrying, dead, or pending with its real entry elsewhere in the list)
  // would be leased twice. So, before any job of the queue moves, every list whose stale
  // count is not 0 is read, and each entry whose job is not pending there is set to '' (the
  // count stays right: it was counted). An id whose job is in neither layout is left: layout
  // 2 drops it as it drops any. Coming from an interrupted run, a job already moved counts as
  // pending when it is in none of the zsets, not leased, and this is its first entry.
  Status BlankTombstones(const std::string& queue) {
    redis::Command stale("HMGET");
    stale.Arg(keys_.Stale(queue));
    for (int p = 0; p < kPriorityCount; ++p) stale.Arg(PriorityName(static_cast<Priority>(p)));
    auto counts = connection_.Run(stale);
    if (!counts) return counts.status().WithContext("migrate: stale");
    for (int p = 0; p < kPriorityCount; ++p) {
      const Reply& c =
          counts->elements.size() > static_cast<size_t>(p) ? counts->elements[p] : Reply{};
      if (!c.is_string() || std::strtoll(c.str.c_str(), nullptr, 10) <= 0) continue;
      std::string list = keys_.Pending(queue, static_cast<Priority>(p));
      std::set<std::string> seen;
      constexpr int64_t kChunk = 1000;
      for (int64_t start = 0;; start += kChunk) {
        auto ids =
            connection_.Run(redis::Command("LRANGE").Arg(list).Arg(start).Arg(start + kChunk - 1));
        if (!ids) return ids.status().WithContext("migrate: LRANGE");
        if (!ids->is_array() || ids->elements.empty()) break;
        redis::Pipeline where;
        for (const Reply& id : ids->elements) {
          where.Add(redis::Command("HGET").Arg(keys_.LegacyJob(queue, id.str)).Arg("state"));
          where.Add(redis::Command("HEXISTS").Arg(keys_.Jobs(queue)).Arg(id.str));
          for (const std::string& z : {keys_.Scheduled(queue), keys_.Retry(queue),
                                       keys_.Dead(queue), keys_.Leases(queue)}) {
            where.Add(redis::Command("ZSCORE").Arg(z).Arg(id.str));
          }
        }
        auto found = connection_.Run(where);
        if (!found) return found.status().WithContext("migrate: tombstones");
        redis::Pipeline blank;
        size_t blanked = 0;
        for (size_t i = 0; i < ids->elements.size(); ++i) {
          const std::string& id = ids->elements[i].str;
          if (id.empty()) continue;
          const Reply* f = &(*found)[6 * i];
          bool pending;
          if (f[0].is_string()) {
            pending = f[0].str == "pending";
          } else if (f[1].integer == 1) {
            pending = f[2].is_nil() && f[3].is_nil() && f[4].is_nil() && f[5].is_nil();
          } else {
            continue;  // in neither layout: dropped by layout 2 as it is
          }
          if (pending && seen.insert(id).second) continue;
          blank.Add(redis::Command("LSET").Arg(list).Arg(start + static_cast<int64_t>(i)).Arg(""));
          ++blanked;
        }
        if (blanked > 0) {
          auto set = connection_.Run(blank);
          if (!set) return set.status().WithContext("migrate: LSET");
          report_.tombstones += static_cast<int64_t>(blanked);
        }
        if (ids->elements.size() < static_cast<size_t>(kChunk)) break;
      }
    }
    return Status::Ok();
  }

  // A lease whose job is in neither layout (its layout-1 hash expired or was deleted by
  // hand) has nothing to hand back; layout 2 would find no record for it. A lease whose hash
  // was left in layout 1 stays with it. Only coming from layout 1: on layout 2 the lease set
  // is live data, not this run's to judge.
  Status DropStaleLeases(const std::string& queue) {
    auto members =
        connection_.Run(redis::Command("ZRANGE").Arg(keys_.Leases(queue)).Arg(0).Arg(-1));
    if (!members) return members.status().WithContext("migrate");
    if (!members->is_array() || members->elements.empty()) return Status::Ok();
    redis::Pipeline exists;
    for (const Reply& m : members->elements) {
      exists.Add(redis::Command("EXISTS").Arg(keys_.LegacyJob(queue, m.str)));
      exists.Add(redis::Command("HEXISTS").Arg(keys_.Jobs(queue)).Arg(m.str));
    }
    auto there = connection_.Run(exists);
    if (!there) return there.status().WithContext("migrate");
    redis::Command zrem("ZREM");
    zrem.Arg(keys_.Leases(queue));
    int64_t dropped = 0;
    for (size_t i = 0; i < members->elements.size(); ++i) {
      if ((*there)[2 * i].integer == 0 && (*there)[2 * i + 1].integer == 0) {
        zrem.Arg(members->elements[i].str);
        ++dropped;
      }
    }
    if (dropped == 0) return Status::Ok();
    auto removed = connection_.Run(zrem);
    if (!removed) return removed.status().WithContext("migrate");
    report_.stale_leases += removed->integer;
    return Status::Ok();
  }

  redis::Connection& connection_;
  const BrokerOptions& options_;
  const Clock& clock_;
  const MigrateOptions& migrate_;
  Keys keys_;
  MigrateReport report_;
  std::set<std::string> queues_;
  std::map<std::string, std::vector<std::string>> found_;  // queue -> ids not yet moved
  std::vector<std::string> inboxes_;
  bool from_layout1_ = true;
  std::set<std::string> cleaned_;  // queues whose tombstones were blanked
};

}  // namespace

Result<MigrateReport> MigrateLayout1(redis::Connection& connection, const BrokerOptions& options,
                                     const Clock& clock, const MigrateOptions& migrate) {
  return Migration(connection, options, clock, migrate).Run();
}

Result<std::vector<std::string>> LiveWorkers(redis::Connection& connection,
                                             const std::string& prefix) {
  auto ids = connection.Run(redis::Command("ZRANGE").Arg(prefix + ":workers").Arg(0).Arg(-1));
  if (!ids) return ids.status().WithContext("migrate: workers");
  std::vector<std::string> live;
  if (!ids->is_array() || ids->elements.empty()) return live;
  redis::Pipeline exists;
  for (const Reply& id : ids->elements) {
    exists.Add(redis::Command("EXISTS").Arg(prefix + ":worker:" + id.str));
  }
  auto there = connection.Run(exists);
  if (!there) return there.status().WithContext("migrate: workers");
  for (size_t i = 0; i < ids->elements.size(); ++i) {
    if ((*there)[i].integer == 1) live.push_back(ids->elements[i].str);
  }
  return live;
}

std::string DescribeMigrateReport(const MigrateReport& r) {
  std::string out = "layout before: " + (r.layout_before.empty() ? "none (1)" : r.layout_before) +
                    "; queues: " + ToString(r.queues) + "\n";
  out += "moved " + ToString(r.moved()) + ": pending " + ToString(r.pending) + ", scheduled " +
         ToString(r.scheduled) + ", retrying " + ToString(r.retrying) + ", dead " +
         ToString(r.dead) + ", active requeued " + ToString(r.requeued) + ", completed " +
         ToString(r.completed) + ", cancelled " + ToString(r.cancelled) + "\n";
  out += "expired results deleted " + ToString(r.expired) + "; already moved (skipped) " +
         ToString(r.skipped) + "; stale leases dropped " + ToString(r.stale_leases) +
         "; tombstones blanked " + ToString(r.tombstones) + "; idle inboxes cleared " +
         ToString(r.inboxes) + "\n";
  for (const auto& l : r.left) out += "left in layout 1: " + l + "\n";
  out += r.layout_set ? "layout is now 2; cron schedules unchanged (same layout)"
                      : "layout NOT set: " + ToString(static_cast<int64_t>(r.left.size())) +
                            " job(s) left in layout 1 (above); fix them and run again, or "
                            "--force to set the layout anyway";
  return out;
}

}  // namespace bananas::queue
