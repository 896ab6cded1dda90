#include "queue/broker.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <map>

#include "base/job_id.h"
#include "queue/job_codec.h"
#include "queue/lua_sources.h"
#include "queue/record.h"

namespace bananas::queue {
namespace {

using redis::Reply;

// One Script per lua/<name>.lua, built once: the SHA1 is computed at first use.
const redis::Script& ScriptNamed(std::string_view name) {
  static const auto* scripts = [] {
    auto* m = new std::map<std::string, redis::Script, std::less<>>();
    for (const char* n : {"ack", "cancel", "dequeue", "enqueue", "extend_lease", "fail",
                          "get_job", "promote_due", "purge_dead", "recover_expired", "release",
                          "retry_dead", "trim_dead", "watch"}) {
      m->emplace(n, redis::Script(n, std::string(LuaSource(n))));
    }
    return m;
  }();
  return scripts->find(name)->second;
}

Status BadShape(std::string_view op, const Reply& reply) {
  return Status::Internal(std::string(op) + ": unexpected reply " + reply.Describe());
}

int64_t IntOf(const Reply& r) {
  if (r.is_integer()) return r.integer;
  if (r.is_string()) return std::strtoll(r.str.c_str(), nullptr, 10);
  return 0;
}

std::string ToString(int64_t v) { return std::to_string(v); }

// The most jobs one off-hot-path script call moves (promote_due.lua, recover_expired.lua):
// they pass a batch of ids to one command, and Lua's unpack is bounded by its C stack.
constexpr int kMaxScriptBatch = 4000;

// dequeue.lua drops at most 1000 tombstones per call (MAX_DROPPED); Dequeue calls it up to
// this many times while it leased nothing and says more may follow.
constexpr int kDequeueRounds = 8;

// A job as leased: its record decoded, the bytes kept for the ack.
Result<LeasedJob> LeasedFromRecord(std::string id, int64_t token, std::string record,
                                   std::string_view queue, int64_t leased_unix_ms) {
  auto decoded = DecodeRecord(record);
  if (!decoded) return decoded.status().WithContext("job " + id);
  Record& r = *decoded;
  LeasedJob j;
  j.id = std::move(id);
  j.queue = std::string(queue);
  j.token = token;
  j.attempts = r.attempts + 1;  // the run this lease is for
  j.max_retries = r.max_retries;
  j.recoveries = r.recoveries;
  j.timeout_ms = r.timeout_ms;
  j.name = std::move(r.name);
  j.payload = std::move(r.payload);
  j.priority = r.priority;
  j.created_unix_ms = r.created_unix_ms;
  j.run_at_unix_ms = r.run_at_unix_ms;
  j.leased_unix_ms = leased_unix_ms;
  j.record = std::move(record);
  return j;
}

// lease.lua encode_handed: "<token>|<id length>:<id><record>".
Result<LeasedJob> DecodeHanded(std::string_view encoded, std::string_view queue,
                               int64_t leased_unix_ms) {
  auto bad = [&] {
    return Status::Corruption("handed-off job: malformed entry of " +
                              std::to_string(encoded.size()) + " bytes");
  };
  size_t bar = encoded.find('|');
  if (bar == std::string_view::npos) return bad();
  size_t colon = encoded.find(':', bar);
  if (colon == std::string_view::npos) return bad();
  int64_t token = 0;
  size_t id_length = 0;
  auto t = std::from_chars(encoded.data(), encoded.data() + bar, token);
  auto l = std::from_chars(encoded.data() + bar + 1, encoded.data() + colon, id_length);
  if (t.ec != std::errc() || t.ptr != encoded.data() + bar || l.ec != std::errc() ||
      l.ptr != encoded.data() + colon || id_length > encoded.size() - colon - 1) {
    return bad();
  }
  std::string id(encoded.substr(colon + 1, id_length));
  std::string record(encoded.substr(colon + 1 + id_length));
  return LeasedFromRecord(std::move(id), token, std::move(record), queue, leased_unix_ms);
}

}  // namespace

int64_t PendingDepth(int64_t list_length, const redis::Reply& stale) {
  int64_t tombstones = stale.is_string() ? std::strtoll(stale.str.c_str(), nullptr, 10) : 0;
  return std::max<int64_t>(list_length - std::max<int64_t>(tombstones, 0), 0);
}

redis::Command StaleCountsCommand(const Keys& keys, std::string_view queue) {
  redis::Command c("HMGET");
  c.Arg(keys.Stale(queue));
  for (int i = 0; i < kPriorityCount; ++i) c.Arg(PriorityName(static_cast<Priority>(i)));
  return c;
}

Broker::Broker(redis::Connection& connection, BrokerOptions options, const Clock& clock)
    : connection_(connection),
      options_(std::move(options)),
      clock_(clock),
      keys_(options_.prefix),
      rng_(std::random_device{}()) {}

double Broker::Random01() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

// How often a Broker re-asserts a queue it uses (issue 13, item 4): a lost registry entry
// comes back within this long of the next enqueue or pause.
constexpr std::chrono::seconds kQueueReassert{60};

Status Broker::RegisterQueue(std::string_view queue) {
  auto now = std::chrono::steady_clock::now();
  auto it = registered_queues_.find(std::string(queue));
  if (it != registered_queues_.end() && now - it->second < kQueueReassert) return Status::Ok();
  BANANAS_RETURN_IF_ERROR(AssertQueues({std::string(queue)}));
  registered_queues_[std::string(queue)] = now;
  return Status::Ok();
}

Status Broker::AssertQueues(const std::vector<std::string>& queues) {
  if (queues.empty()) return Status::Ok();
  redis::Command add("SADD");
  add.Arg(keys_.QueueRegistry());
  redis::Command seen("ZADD");
  seen.Arg(keys_.QueueSeen());
  int64_t now = clock_.NowMs();
  for (const auto& q : queues) {
    add.Arg(q);
    seen.Arg(now).Arg(q);
  }
  redis::Pipeline p;
  p.Add(std::move(add));
  p.Add(std::move(seen));
  auto replies = connection_.Run(p);
  if (!replies) return replies.status().WithContext("queue.AssertQueues");
  for (const auto& r : *replies) {
    if (r.is_error()) return Status::Internal("queue.AssertQueues: " + r.str);
  }
  return Status::Ok();
}

Result<std::vector<std::string>> Broker::DiscoverQueues(int count) {
  std::set<std::string> found;
  std::string cursor = "0";
  const std::string pattern = keys_.QueueKeyPattern();
  do {
    // TYPE zset: scheduled, retry, leases and dead are sorted sets; hashes (done buckets,
    // `jobs`) and lists are skipped by the server. A queue with only pending jobs needs no
    // scheduler; one whose registry entry was lost gets it back from its workers.
    auto reply = connection_.Run(redis::Command("SCAN")
                                     .Arg(cursor)
                                     .Arg("MATCH")
                                     .Arg(pattern)
                                     .Arg("COUNT")
                                     .Arg(int64_t{count})
                                     .Arg("TYPE")
                                     .Arg("zset"));
    if (!reply) return reply.status().WithContext("queue.DiscoverQueues");
    if (!reply->is_array() || reply->elements.size() != 2 || !reply->elements[1].is_array()) {
      return BadShape("queue.DiscoverQueues", *reply);
    }
    cursor = reply->elements[0].str;
    for (const auto& key : reply->elements[1].elements) {
      std::string q = keys_.QueueOfKey(key.str);
      if (q.empty()) continue;
      // Only the sets the scheduler works on: a queue with nothing but an idle-worker set
      // needs no promotion or recovery.
      if (key.str == keys_.Scheduled(q) || key.str == keys_.Retry(q) ||
          key.str == keys_.Leases(q) || key.str == keys_.Dead(q)) {
        found.insert(std::move(q));
      }
    }
  } while (cursor != "0");
  return std::vector<std::string>(found.begin(), found.end());
}

Result<bool> Broker::PruneQueue(std::string_view queue, int64_t unused_ms) {
  auto seen = connection_.Run(redis::Command("ZSCORE").Arg(keys_.QueueSeen()).Arg(queue));
  if (!seen) return seen.status().WithContext("queue.PruneQueue");
  int64_t now = clock_.NowMs();
  if (seen->is_nil()) {
    // Registered before queues were marked seen (an upgrade): start its clock now.
    auto r = connection_.Run(
        redis::Command("ZADD").Arg(keys_.QueueSeen()).Arg("NX").Arg(now).Arg(queue));
    if (!r) return r.status().WithContext("queue.PruneQueue");
    return false;
  }
  if (now - std::stoll(seen->str) < unused_ms) return false;
  auto counts = Counts(queue);
  if (!counts) return counts.status();
  const QueueCounts& c = *counts;
  if (c.paused || c.pending[0] + c.pending[1] + c.pending[2] + c.scheduled + c.active +
                      c.retrying + c.dead > 0) {
    return false;
  }
  // Every job not ended has a record: one left (whatever the lists say) keeps the queue.
  // Ended jobs (done buckets) do not: their results stay readable by id without it.
  auto records = connection_.Run(redis::Command("HLEN").Arg(keys_.Jobs(queue)));
  if (!records) return records.status().WithContext("queue.PruneQueue");
  if (!records->is_integer()) return BadShape("queue.PruneQueue", *records);
  if (records->integer > 0) return false;
  redis::Pipeline p;
  p.Add(redis::Command("SREM").Arg(keys_.QueueRegistry()).Arg(queue));
  p.Add(redis::Command("ZREM").Arg(keys_.QueueSeen()).Arg(queue));
  auto replies = connection_.Run(p);
  if (!replies) return replies.status().WithContext("queue.PruneQueue");
  return true;
}

Result<bool> Broker::HoldsLayout1Jobs() {
  auto queues = connection_.Run(redis::Command("SMEMBERS").Arg(keys_.QueueRegistry()));
  if (!queues) return queues.status();
  if (!queues->is_array()) return BadShape("queue.CheckLayout", *queues);
  // Layout 1 kept each job in a hash <p>:{q}:job:<id>, named by the ids in its lists and
  // zsets; layout 2 never writes one. The two ends of each list and zset of each queue tell
  // which layout wrote them (a migration stopped half-way leaves the newest behind).
  for (const auto& q : queues->elements) {
    const std::string& queue = q.str;
    redis::Pipeline samples;
    for (int p = 0; p < kPriorityCount; ++p) {
      for (const char* end : {"0", "-1"}) {
        samples.Add(redis::Command("LINDEX")
                        .Arg(keys_.Pending(queue, static_cast<Priority>(p)))
                        .Arg(end));
      }
    }
    for (const std::string& zset : {keys_.Scheduled(queue), keys_.Retry(queue),
                                    keys_.Dead(queue), keys_.Leases(queue)}) {
      for (const char* end : {"0", "-1"}) {
        samples.Add(redis::Command("ZRANGE").Arg(zset).Arg(end).Arg(end));
      }
    }
    auto replies = connection_.Run(samples);
    if (!replies) return replies.status();
    redis::Command exists("EXISTS");
    bool any = false;
    for (const auto& r : *replies) {
      const std::string* id = r.is_string() ? &r.str
                              : (r.is_array() && !r.elements.empty()) ? &r.elements[0].str
                                                                       : nullptr;
      if (id != nullptr && !id->empty()) {
        exists.Arg(keys_.LegacyJob(queue, *id));
        any = true;
      }
    }
    if (!any) continue;
    auto found = connection_.Run(exists);
    if (!found) return found.status();
    if (found->is_integer() && found->integer > 0) return true;
  }
  return false;
}

Status Broker::CheckLayout() {
  const std::string key = keys_.Layout();
  auto layout = connection_.Run(redis::Command("GET").Arg(key));
  if (!layout) return layout.status().WithContext("queue.CheckLayout");
  if (layout->is_nil()) {
    // No layout written: a Redis without layout-1 jobs is marked layout 2 (whoever comes
    // first: clients write layout 2 without marking it, so registered queues prove nothing).
    auto old = HoldsLayout1Jobs();
    if (!old) return old.status().WithContext("queue.CheckLayout");
    if (!*old) {
      auto set = connection_.Run(redis::Command("SET").Arg(key).Arg("2").Arg("NX"));
      if (!set) return set.status().WithContext("queue.CheckLayout");
      if (set->is_error()) return Status::Internal("queue.CheckLayout: " + set->str);
      if (!set->is_nil()) return Status::Ok();
      // Another service wrote it first: judge what it wrote.
      layout = connection_.Run(redis::Command("GET").Arg(key));
      if (!layout) return layout.status().WithContext("queue.CheckLayout");
    }
  }
  if (layout->is_string() && layout->str == "2") return Status::Ok();
  if (layout->is_error()) return Status::Internal("queue.CheckLayout: " + layout->str);
  if (layout->is_string() && layout->str != "1") {
    return Status::FailedPrecondition("Redis holds Bananas data in key layout " + layout->str +
                                      ", which this version does not read (it reads 2)");
  }
  return Status::FailedPrecondition(
      "Redis holds Bananas data in key layout 1; stop every bananas service and run "
      "`bananas migrate` (docs/OPERATIONS.md)");
}

Result<EnqueueResult> Broker::Enqueue(const JobSpec& spec) {
  auto results = EnqueueBatch({spec});
  if (!results) return results.status();
  return std::move(results->front());
}

Result<std::vector<EnqueueResult>> Broker::EnqueueBatch(const std::vector<JobSpec>& specs,
                                                        size_t chunk) {
  for (size_t i = 0; i < specs.size(); ++i) {
    Status s = ValidateJobSpec(specs[i]);
    if (!s.ok()) {
      return specs.size() == 1 ? s : s.WithContext("jobs[" + std::to_string(i) + "]");
    }
  }
  chunk = std::max<size_t>(chunk, 1);
  // Group by queue, keeping each job's position for the answer.
  std::map<std::string, std::vector<size_t>> by_queue;
  for (size_t i = 0; i < specs.size(); ++i) by_queue[specs[i].queue].push_back(i);

  std::vector<EnqueueResult> out(specs.size());
  int64_t now = clock_.NowMs();
  for (const auto& [queue, positions] : by_queue) {
    for (size_t start = 0; start < positions.size(); start += chunk) {
      size_t end = std::min(positions.size(), start + chunk);
      std::vector<JobSpec> group;
      std::vector<std::string> ids;
      group.reserve(end - start);
      ids.reserve(end - start);
      for (size_t k = start; k < end; ++k) {
        group.push_back(specs[positions[k]]);
        ids.push_back(NewJobId(queue, now));
      }
      auto results = EnqueueWithIds(queue, group, ids);
      if (!results) return results.status();
      for (size_t k = start; k < end; ++k) out[positions[k]] = std::move((*results)[k - start]);
    }
  }
  return out;
}

Result<std::vector<EnqueueResult>> Broker::EnqueueWithIds(std::string_view queue,
                                                         const std::vector<JobSpec>& specs,
                                                         const std::vector<std::string>& ids,
                                                         bool resent) {
  BANANAS_RETURN_IF_ERROR(RegisterQueue(queue));
  std::vector<std::string> keys = {keys_.Pending(queue, Priority::kHigh),
                                   keys_.Pending(queue, Priority::kNormal),
                                   keys_.Pending(queue, Priority::kLow),
                                   keys_.Scheduled(queue),
                                   keys_.Marker(queue),
                                   keys_.Timer(queue),
                                   keys_.Jobs(queue),
                                   keys_.UniquePrefix(queue),
                                   keys_.Paused(queue),
                                   keys_.Leases(queue),
                                   keys_.IdleWorkers(queue),
                                   keys_.InboxPrefix(queue),
                                   keys_.Seq(queue),
                                   keys_.Stale(queue),
                                   keys_.Buckets(queue),
                                   keys_.Tokens(queue)};
  const int64_t now = clock_.NowMs();
  std::vector<std::string> args;
  args.reserve(4 + specs.size() * 6);
  args.push_back(ToString(now));
  args.push_back(ToString(static_cast<int64_t>(specs.size())));
  args.push_back(ToString(options_.default_unique_ttl_ms));
  args.emplace_back(resent ? "1" : "0");
  for (size_t i = 0; i < specs.size(); ++i) {
    const JobSpec& s = specs[i];
    args.push_back(ids[i]);
    args.emplace_back(1, PriorityName(s.priority).front());
    args.push_back(ToString(s.run_at_unix_ms));
    args.push_back(s.unique_key);
    args.push_back(ToString(s.unique_ttl_ms));
    args.push_back(EncodeRecord(NewRecord(s, now, s.run_at_unix_ms)));
  }
  auto reply = connection_.Eval(ScriptNamed("enqueue"), keys, args);
  if (!reply) return reply.status().WithContext("queue.Enqueue");
  if (!reply->is_array() || reply->elements.size() != specs.size() * 2) {
    return BadShape("queue.Enqueue", *reply);
  }
  std::vector<EnqueueResult> out(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    out[i].id = std::move(reply->elements[2 * i].str);
    out[i].duplicate = IntOf(reply->elements[2 * i + 1]) == 1;
  }
  return out;
}

Result<std::vector<LeasedJob>> Broker::Dequeue(const DequeueRequest& request) {
  const std::string& q = request.queue;
  std::vector<std::string> keys = {keys_.Paused(q),
                                   keys_.Pending(q, Priority::kHigh),
                                   keys_.Pending(q, Priority::kNormal),
                                   keys_.Pending(q, Priority::kLow),
                                   keys_.Leases(q),
                                   keys_.Jobs(q),
                                   keys_.IdleWorkers(q),
                                   keys_.InboxPrefix(q),
                                   keys_.Stale(q),
                                   keys_.Seq(q),
                                   keys_.Tokens(q)};
  // Only a type-filtered dequeue uses the scan cursors: each key costs every call.
  if (!request.job_types.empty()) keys.push_back(keys_.ScanCursors(q));
  std::vector<std::string> args = {"", ToString(options_.lease_ms),
                                   ToString(request.leaving ? 0 : std::max(request.max_jobs, 1)),
                                   ToString(std::max(options_.type_filter_scan, 1))};
  std::string served;
  for (Priority p : request.priorities) served += PriorityName(p).front();
  args.push_back(served.empty() ? "hnl" : served);
  args.push_back(request.handoff_worker);
  args.emplace_back(request.leaving ? "2" : request.may_be_registered ? "1" : "0");
  args.push_back(ToString(request.idle_registration.count()));
  args.insert(args.end(), request.job_types.begin(), request.job_types.end());
  std::vector<LeasedJob> jobs;
  // A call that dropped MAX_DROPPED tombstones (cancelled jobs' ids) stops and says so;
  // with nothing leased yet, call again, a bounded number of times.
  for (int round = 0; round < kDequeueRounds; ++round) {
    int64_t now = clock_.NowMs();
    args[0] = ToString(now);
    if (round > 0) args[6] = "0";  // the first call took back the registration and inbox
    auto reply = connection_.Eval(ScriptNamed("dequeue"), keys, args);
    if (!reply) return reply.status().WithContext("queue.Dequeue");
    // {token, more, h, h inbox entries, then id, record pairs}
    auto& e = reply->elements;
    if (!reply->is_array() || e.size() < 3 || !e[0].is_integer() || !e[2].is_integer()) {
      return BadShape("queue.Dequeue", *reply);
    }
    const int64_t token = e[0].integer;
    const bool more = IntOf(e[1]) == 1;
    const size_t handed = static_cast<size_t>(std::max<int64_t>(e[2].integer, 0));
    if (e.size() < 3 + handed || (e.size() - 3 - handed) % 2 != 0) {
      return BadShape("queue.Dequeue", *reply);
    }
    jobs.reserve(jobs.size() + handed + (e.size() - 3 - handed) / 2);
    for (size_t i = 3; i < 3 + handed; ++i) {
      auto job = DecodeHanded(e[i].str, q, now);
      if (!job) return job.status().WithContext("queue.Dequeue");
      jobs.push_back(std::move(*job));
    }
    for (size_t i = 3 + handed; i + 1 < e.size(); i += 2) {
      auto job = LeasedFromRecord(std::move(e[i].str), token, std::move(e[i + 1].str), q, now);
      if (!job) return job.status().WithContext("queue.Dequeue");
      jobs.push_back(std::move(*job));
    }
    if (!more || !jobs.empty()) break;
  }
  return jobs;
}

Result<std::vector<LeaseState>> Broker::ExtendLeases(std::string_view queue,
                                                     const std::vector<LeaseRef>& leases) {
  if (leases.empty()) return std::vector<LeaseState>{};
  std::vector<std::string> keys = {keys_.Leases(queue), keys_.Tokens(queue),
                                   keys_.CancelRequests(queue)};
  std::vector<std::string> args = {ToString(clock_.NowMs()), ToString(options_.lease_ms)};
  args.reserve(2 + 3 * leases.size());
  for (const auto& l : leases) {
    args.push_back(l.id);
    args.push_back(ToString(l.token));
    args.emplace_back(l.started ? "1" : "0");
  }
  auto reply = connection_.Eval(ScriptNamed("extend_lease"), keys, args);
  if (!reply) return reply.status().WithContext("queue.ExtendLeases");
  if (!reply->is_array() || reply->elements.size() != leases.size()) {
    return BadShape("queue.ExtendLeases", *reply);
  }
  std::vector<LeaseState> out;
  out.reserve(leases.size());
  for (const auto& e : reply->elements) out.push_back(static_cast<LeaseState>(IntOf(e)));
  return out;
}

Result<std::vector<bool>> Broker::Ack(std::string_view queue,
                                      const std::vector<Completion>& completions) {
  if (completions.empty()) return std::vector<bool>{};
  std::vector<bool> out(completions.size(), false);
  // A result over the cap is never stored: its job fails instead (after the acks, so one
  // call's order of writes does not matter: each job is written once, under its own token).
  std::vector<size_t> too_large;
  std::vector<size_t> acked;
  acked.reserve(completions.size());
  for (size_t i = 0; i < completions.size(); ++i) {
    bool over = options_.max_result_bytes > 0 &&
                completions[i].result.size() > static_cast<size_t>(options_.max_result_bytes);
    (over ? too_large : acked).push_back(i);
  }
  if (!acked.empty()) {
    // Completions without the leased record (tests): read the records first.
    std::vector<size_t> missing;
    for (size_t i : acked) {
      if (completions[i].record.empty()) missing.push_back(i);
    }
    std::vector<std::string> fetched(completions.size());
    if (!missing.empty()) {
      redis::Command hmget("HMGET");
      hmget.Arg(keys_.Jobs(queue));
      for (size_t i : missing) hmget.Arg(completions[i].id);
      auto records = connection_.Run(hmget);
      if (!records) return records.status().WithContext("queue.Ack");
      if (!records->is_array() || records->elements.size() != missing.size()) {
        return BadShape("queue.Ack", *records);
      }
      for (size_t k = 0; k < missing.size(); ++k) {
        fetched[missing[k]] = std::move(records->elements[k].str);
      }
    }
    const int64_t now = clock_.NowMs();
    std::vector<std::string> keys = {keys_.Leases(queue),         keys_.Tokens(queue),
                                     keys_.Jobs(queue),           keys_.DonePrefix(queue),
                                     keys_.Buckets(queue),        keys_.CancelRequests(queue),
                                     keys_.Watched(queue)};
    std::vector<std::string> args = {ToString(now), ToString(options_.result_ttl_success_ms),
                                     keys_.EndedPrefix(queue)};
    args.reserve(3 + 3 * acked.size());
    for (size_t i : acked) {
      const Completion& c = completions[i];
      const std::string& record = c.record.empty() ? fetched[i] : c.record;
      args.push_back(c.id);
      args.push_back(ToString(c.token));
      // A lease lost with its record gone: any final record does (the lease check refuses).
      args.push_back(EncodeCompleted(record, c.started_unix_ms > 0 ? c.started_unix_ms : now,
                                     now, c.result));
    }
    auto reply = connection_.Eval(ScriptNamed("ack"), keys, args);
    if (!reply) return reply.status().WithContext("queue.Ack");
    if (!reply->is_array() || reply->elements.size() != acked.size()) {
      return BadShape("queue.Ack", *reply);
    }
    for (size_t k = 0; k < acked.size(); ++k) out[acked[k]] = IntOf(reply->elements[k]) == 1;
  }
  for (size_t i : too_large) {
    const Completion& c = completions[i];
    Failure failure;
    failure.id = c.id;
    failure.token = c.token;
    failure.error = ResultTooLargeMessage(c.result.size(), options_.max_result_bytes);
    failure.retryable = false;  // a rerun would most likely produce it again
    auto failed = Fail(queue, failure);
    if (!failed) return failed.status().WithContext("queue.Ack");
  }
  return out;
}

Result<FailOutcome> Broker::Fail(std::string_view queue, const Failure& failure) {
  int64_t now = clock_.NowMs();
  int64_t retry_at = now + options_.retry.DelayAfter(failure.attempt, Random01()).count();
  std::vector<std::string> keys = {keys_.Leases(queue),         keys_.Retry(queue),
                                   keys_.Dead(queue),           keys_.Timer(queue),
                                   keys_.Jobs(queue),           keys_.Tokens(queue),
                                   keys_.CancelRequests(queue), keys_.Watched(queue),
                                   keys_.EndedPrefix(queue),    keys_.DonePrefix(queue),
                                   keys_.Buckets(queue)};
  std::vector<std::string> args = {ToString(now),
                                   failure.id,
                                   ToString(failure.token),
                                   TruncateError(failure.error, options_.max_error_bytes),
                                   ToString(retry_at),
                                   failure.cancelled ? "c" : (failure.retryable ? "1" : "0"),
                                   ToString(options_.error_history),
                                   ToString(options_.result_ttl_failure_ms)};
  auto reply = connection_.Eval(ScriptNamed("fail"), keys, args);
  if (!reply) return reply.status().WithContext("queue.Fail");
  if (!reply->is_array() || reply->elements.empty()) return BadShape("queue.Fail", *reply);
  const std::string& kind = reply->elements[0].str;
  FailOutcome out;
  if (kind == "retry" && reply->elements.size() == 2) {
    out.kind = FailOutcome::Kind::kRetrying;
    out.retry_at_unix_ms = IntOf(reply->elements[1]);
  } else if (kind == "dead") {
    out.kind = FailOutcome::Kind::kDead;
  } else if (kind == "cancelled") {
    out.kind = FailOutcome::Kind::kCancelled;
  } else if (kind == "lost") {
    out.kind = FailOutcome::Kind::kLeaseLost;
  } else {
    return BadShape("queue.Fail", *reply);
  }
  return out;
}

Result<std::vector<bool>> Broker::Release(std::string_view queue,
                                          const std::vector<LeaseRef>& leases) {
  if (leases.empty()) return std::vector<bool>{};
  std::vector<std::string> keys = {keys_.Leases(queue),
                                   keys_.Pending(queue, Priority::kHigh),
                                   keys_.Pending(queue, Priority::kNormal),
                                   keys_.Pending(queue, Priority::kLow),
                                   keys_.Marker(queue),
                                   keys_.Jobs(queue),
                                   keys_.Tokens(queue),
                                   keys_.CancelRequests(queue),
                                   keys_.Watched(queue),
                                   keys_.DonePrefix(queue),
                                   keys_.Buckets(queue)};
  std::vector<std::string> args = {ToString(clock_.NowMs()),
                                   ToString(options_.result_ttl_failure_ms),
                                   keys_.EndedPrefix(queue)};
  for (const auto& l : leases) {
    args.push_back(l.id);
    args.push_back(ToString(l.token));
  }
  auto reply = connection_.Eval(ScriptNamed("release"), keys, args);
  if (!reply) return reply.status().WithContext("queue.Release");
  if (!reply->is_array() || reply->elements.size() != leases.size()) {
    return BadShape("queue.Release", *reply);
  }
  std::vector<bool> out;
  for (const auto& e : reply->elements) out.push_back(IntOf(e) == 1);
  return out;
}

std::string Broker::JobDoneChannel(std::string_view id) const {
  std::string_view q = QueueOfJobId(id);
  if (q.empty()) return {};
  return keys_.EndedChannel(q, id);
}

// The keys locate.lua reads to find a job (get_job.lua, watch.lua), then `last`.
static std::vector<std::string> LocateKeys(const Keys& keys, std::string_view q,
                                           std::string last) {
  return {keys.Jobs(q), keys.Scheduled(q), keys.Retry(q),   keys.Dead(q),
          keys.Leases(q), keys.Buckets(q),  std::move(last)};
}

Result<JobState> Broker::Watch(std::string_view id) {
  std::string_view q = QueueOfJobId(id);
  if (q.empty()) return Status::NotFound("job " + std::string(id) + ": not a job id");
  auto reply = connection_.Eval(ScriptNamed("watch"), LocateKeys(keys_, q, keys_.Watched(q)),
                                {ToString(clock_.NowMs()), std::string(id)});
  if (!reply) return reply.status().WithContext("queue.Watch");
  if (reply->is_nil()) return Status::NotFound("job " + std::string(id));
  auto state = ParseJobState(reply->str);
  if (!state) return BadShape("queue.Watch", *reply);
  return *state;
}

Result<CancelOutcome> Broker::Cancel(std::string_view id) {
  std::string_view q = QueueOfJobId(id);
  if (q.empty()) return CancelOutcome::kNotFound;
  std::vector<std::string> keys = {keys_.Jobs(q),           keys_.Stale(q),
                                   keys_.Scheduled(q),      keys_.Retry(q),
                                   keys_.Dead(q),           keys_.Leases(q),
                                   keys_.CancelRequests(q), keys_.Watched(q),
                                   keys_.EndedPrefix(q),    keys_.DonePrefix(q),
                                   keys_.Buckets(q)};
  std::vector<std::string> args = {ToString(clock_.NowMs()), std::string(id),
                                   ToString(options_.result_ttl_failure_ms)};
  auto reply = connection_.Eval(ScriptNamed("cancel"), keys, args);
  if (!reply) return reply.status().WithContext("queue.Cancel");
  const std::string& s = reply->str;
  if (s == "cancelled") return CancelOutcome::kCancelled;
  if (s == "requested") return CancelOutcome::kRequested;
  if (s == "terminal") return CancelOutcome::kTerminal;
  if (s == "notfound") return CancelOutcome::kNotFound;
  return BadShape("queue.Cancel", *reply);
}

Result<PromoteResult> Broker::PromoteDue(std::string_view queue, int limit) {
  std::vector<std::string> keys = {keys_.Scheduled(queue),
                                   keys_.Retry(queue),
                                   keys_.Pending(queue, Priority::kHigh),
                                   keys_.Pending(queue, Priority::kNormal),
                                   keys_.Pending(queue, Priority::kLow),
                                   keys_.Marker(queue),
                                   keys_.Jobs(queue)};
  std::vector<std::string> args = {ToString(clock_.NowMs()),
                                   ToString(std::clamp(limit, 1, kMaxScriptBatch))};
  auto reply = connection_.Eval(ScriptNamed("promote_due"), keys, args);
  if (!reply) return reply.status().WithContext("queue.PromoteDue");
  if (!reply->is_array() || reply->elements.size() != 2) {
    return BadShape("queue.PromoteDue", *reply);
  }
  return PromoteResult{static_cast<int>(IntOf(reply->elements[0])), IntOf(reply->elements[1])};
}

Result<RecoverResult> Broker::RecoverExpired(std::string_view queue, int limit) {
  std::vector<std::string> keys = {keys_.Leases(queue),
                                   keys_.Pending(queue, Priority::kHigh),
                                   keys_.Pending(queue, Priority::kNormal),
                                   keys_.Pending(queue, Priority::kLow),
                                   keys_.Dead(queue),
                                   keys_.Marker(queue),
                                   keys_.Jobs(queue),
                                   keys_.Tokens(queue),
                                   keys_.CancelRequests(queue),
                                   keys_.Watched(queue),
                                   keys_.EndedPrefix(queue),
                                   keys_.DonePrefix(queue),
                                   keys_.Buckets(queue)};
  std::vector<std::string> args = {ToString(clock_.NowMs()),
                                   ToString(std::clamp(limit, 1, kMaxScriptBatch)),
                                   ToString(options_.max_recoveries),
                                   ToString(options_.error_history),
                                   ToString(options_.result_ttl_failure_ms)};
  auto reply = connection_.Eval(ScriptNamed("recover_expired"), keys, args);
  if (!reply) return reply.status().WithContext("queue.RecoverExpired");
  if (!reply->is_array() || reply->elements.size() != 2) {
    return BadShape("queue.RecoverExpired", *reply);
  }
  return RecoverResult{static_cast<int>(IntOf(reply->elements[0])),
                       static_cast<int>(IntOf(reply->elements[1]))};
}

Status Broker::Pause(std::string_view queue) {
  BANANAS_RETURN_IF_ERROR(RegisterQueue(queue));
  auto reply = connection_.Run(redis::Command("SET").Arg(keys_.Paused(queue)).Arg("1"));
  if (!reply) return reply.status().WithContext("queue.Pause");
  if (reply->is_error()) return Status::Internal("queue.Pause: " + reply->str);
  return Status::Ok();
}

Status Broker::Resume(std::string_view queue) {
  redis::Pipeline p;
  p.Add(redis::Command("DEL").Arg(keys_.Paused(queue)));
  // Workers that slept through the pause find the backlog at once.
  p.Add(redis::Command("LPUSH").Arg(keys_.Marker(queue)).Arg("1"));
  auto replies = connection_.Run(p);
  if (!replies) return replies.status().WithContext("queue.Resume");
  return Status::Ok();
}

Result<QueueCounts> Broker::Counts(std::string_view queue) {
  redis::Pipeline p;
  p.Add(redis::Command("EXISTS").Arg(keys_.Paused(queue)));
  for (int i = 0; i < kPriorityCount; ++i) {
    p.Add(redis::Command("LLEN").Arg(keys_.Pending(queue, static_cast<Priority>(i))));
  }
  p.Add(redis::Command("ZCARD").Arg(keys_.Scheduled(queue)));
  p.Add(redis::Command("ZCARD").Arg(keys_.Leases(queue)));
  p.Add(redis::Command("ZCARD").Arg(keys_.Retry(queue)));
  p.Add(redis::Command("ZCARD").Arg(keys_.Dead(queue)));
  p.Add(StaleCountsCommand(keys_, queue));
  auto replies = connection_.Run(p);
  if (!replies) return replies.status().WithContext("queue.Counts");
  const auto& r = *replies;
  for (size_t i = 0; i + 1 < r.size(); ++i) {
    if (!r[i].is_integer()) return BadShape("queue.Counts", r[i]);
  }
  if (r.size() != 9 || !r[8].is_array() || r[8].elements.size() != kPriorityCount) {
    return BadShape("queue.Counts", r.back());
  }
  QueueCounts c;
  c.queue = std::string(queue);
  c.paused = r[0].integer == 1;
  for (int i = 0; i < kPriorityCount; ++i) {
    c.pending[i] = PendingDepth(r[1 + i].integer, r[8].elements[static_cast<size_t>(i)]);
  }
  c.scheduled = r[4].integer;
  c.active = r[5].integer;
  c.retrying = r[6].integer;
  c.dead = r[7].integer;
  return c;
}

Result<std::vector<std::string>> Broker::Queues() {
  auto reply = connection_.Run(redis::Command("SMEMBERS").Arg(keys_.QueueRegistry()));
  if (!reply) return reply.status().WithContext("queue.Queues");
  if (!reply->is_array()) return BadShape("queue.Queues", *reply);
  std::vector<std::string> out;
  for (auto& e : reply->elements) out.push_back(std::move(e.str));
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

// The time of the newest entry of a job's error history, or 0.
int64_t LastErrorAt(const Job& job) {
  return job.errors.empty() ? 0 : job.errors.back().at_unix_ms;
}

// A job from get_job.lua's reply {state, bytes, score, cancel}, or from a record found
// elsewhere (ListDead); `lease_ms` dates an active job's lease.
Result<Job> JobFromStored(std::string_view id, std::string_view queue, JobState state,
                          std::string_view bytes, int64_t score, bool cancel,
                          int64_t lease_ms) {
  auto context = [&](const Status& s) { return s.WithContext("job " + std::string(id)); };
  if (state == JobState::kCompleted || state == JobState::kCancelled) {
    auto final = DecodeFinal(bytes);
    if (!final) return context(final.status());
    Job job = JobFromRecord(id, queue, std::move(final->record), final->state);
    job.started_unix_ms = final->started_unix_ms;
    job.finished_unix_ms = final->finished_unix_ms;
    job.updated_unix_ms = final->finished_unix_ms;
    job.result = std::move(final->result);
    return job;
  }
  auto record = DecodeRecord(bytes);
  if (!record) return context(record.status());
  Job job = JobFromRecord(id, queue, std::move(*record), state);
  job.cancel_requested = cancel;
  int64_t changed = std::max(job.created_unix_ms, LastErrorAt(job));
  switch (state) {
    case JobState::kActive:
      // The run in progress counts; the lease was last renewed lease_ms before its deadline.
      job.attempts += 1;
      job.started_unix_ms = score - lease_ms;
      job.updated_unix_ms = job.started_unix_ms;
      break;
    case JobState::kFailed:
      job.finished_unix_ms = score;
      job.updated_unix_ms = score;
      break;
    case JobState::kPending:
      job.updated_unix_ms = std::max(changed, job.run_at_unix_ms);
      break;
    default:  // scheduled, retrying: run_at is in the future
      job.updated_unix_ms = changed;
      break;
  }
  return job;
}

}  // namespace

Result<Job> Broker::GetJob(std::string_view id) {
  std::string_view q = QueueOfJobId(id);
  if (q.empty()) return Status::NotFound("job " + std::string(id) + ": not a job id");
  auto reply = connection_.Eval(ScriptNamed("get_job"),
                                LocateKeys(keys_, q, keys_.CancelRequests(q)),
                                {ToString(clock_.NowMs()), std::string(id)});
  if (!reply) return reply.status().WithContext("queue.GetJob");
  if (reply->is_nil()) return Status::NotFound("job " + std::string(id));
  if (!reply->is_array() || reply->elements.size() != 4 || !reply->elements[0].is_string() ||
      !reply->elements[1].is_string()) {
    return BadShape("queue.GetJob", *reply);
  }
  auto state = ParseJobState(reply->elements[0].str);
  if (!state) return BadShape("queue.GetJob", *reply);
  return JobFromStored(id, q, *state, reply->elements[1].str, IntOf(reply->elements[2]),
                       IntOf(reply->elements[3]) == 1, options_.lease_ms);
}

Result<DeadPage> Broker::ListDead(std::string_view queue, int64_t offset, int64_t limit) {
  offset = std::max<int64_t>(offset, 0);
  limit = std::clamp<int64_t>(limit, 1, 1000);
  redis::Pipeline p;
  p.Add(redis::Command("ZCARD").Arg(keys_.Dead(queue)));
  p.Add(redis::Command("ZREVRANGE")
            .Arg(keys_.Dead(queue))
            .Arg(offset)
            .Arg(offset + limit - 1)
            .Arg("WITHSCORES"));
  auto replies = connection_.Run(p);
  if (!replies) return replies.status().WithContext("queue.ListDead");
  if ((*replies)[0].is_error() || !(*replies)[1].is_array() ||
      (*replies)[1].elements.size() % 2 != 0) {
    return BadShape("queue.ListDead", (*replies)[1]);
  }
  DeadPage page;
  page.total = (*replies)[0].integer;
  const auto& entries = (*replies)[1].elements;  // id, time of death, id, ...
  if (entries.empty()) return page;
  redis::Command hmget("HMGET");
  hmget.Arg(keys_.Jobs(queue));
  for (size_t i = 0; i < entries.size(); i += 2) hmget.Arg(entries[i].str);
  auto records = connection_.Run(hmget);
  if (!records) return records.status().WithContext("queue.ListDead");
  if (!records->is_array() || records->elements.size() != entries.size() / 2) {
    return BadShape("queue.ListDead", *records);
  }
  for (size_t i = 0; i < entries.size(); i += 2) {
    const Reply& record = records->elements[i / 2];
    if (!record.is_string()) continue;  // purged or retried since the ZREVRANGE
    auto job = JobFromStored(entries[i].str, queue, JobState::kFailed, record.str,
                             IntOf(entries[i + 1]), false, options_.lease_ms);
    if (!job) return job.status().WithContext("queue.ListDead");
    page.jobs.push_back(std::move(*job));
  }
  return page;
}

Result<int64_t> Broker::RetryDead(std::string_view queue, const std::vector<std::string>& ids,
                                  int64_t limit) {
  std::vector<std::string> keys = {keys_.Dead(queue),
                                   keys_.Pending(queue, Priority::kHigh),
                                   keys_.Pending(queue, Priority::kNormal),
                                   keys_.Pending(queue, Priority::kLow),
                                   keys_.Marker(queue),
                                   keys_.Jobs(queue)};
  std::vector<std::string> args = {ToString(clock_.NowMs()),
                                   ToString(std::max<int64_t>(limit, 1))};
  args.insert(args.end(), ids.begin(), ids.end());
  auto reply = connection_.Eval(ScriptNamed("retry_dead"), keys, args);
  if (!reply) return reply.status().WithContext("queue.RetryDead");
  if (!reply->is_integer()) return BadShape("queue.RetryDead", *reply);
  return reply->integer;
}

Result<int64_t> Broker::PurgeDead(std::string_view queue, const std::vector<std::string>& ids,
                                  int64_t limit) {
  std::vector<std::string> keys = {keys_.Dead(queue), keys_.Jobs(queue)};
  std::vector<std::string> args = {ToString(std::max<int64_t>(limit, 1))};
  args.insert(args.end(), ids.begin(), ids.end());
  auto reply = connection_.Eval(ScriptNamed("purge_dead"), keys, args);
  if (!reply) return reply.status().WithContext("queue.PurgeDead");
  if (!reply->is_integer()) return BadShape("queue.PurgeDead", *reply);
  return reply->integer;
}

std::string TruncateError(std::string_view message, int64_t max_bytes) {
  if (max_bytes <= 0 || message.size() <= static_cast<size_t>(max_bytes)) {
    return std::string(message);
  }
  size_t keep = static_cast<size_t>(max_bytes);
  // Back up to the start of a UTF-8 character: never keep half of one (continuation bytes
  // are 10xxxxxx). Bytes that are not UTF-8 at all are cut where they are.
  size_t boundary = keep;
  while (boundary > 0 && keep - boundary < 3 &&
         (static_cast<unsigned char>(message[boundary]) & 0xC0) == 0x80) {
    --boundary;
  }
  if ((static_cast<unsigned char>(message[boundary]) & 0xC0) != 0x80) keep = boundary;
  std::string out(message.substr(0, keep));
  out += "\u2026 [truncated " + std::to_string(message.size() - keep) + " bytes]";
  return out;
}

std::string ResultTooLargeMessage(size_t result_bytes, int64_t max_bytes) {
  return "result of " + std::to_string(result_bytes) + " bytes exceeds MAX_RESULT_BYTES (" +
         std::to_string(max_bytes) + " bytes)";
}

Result<TrimResult> Broker::TrimDead(std::string_view queue, int64_t limit) {
  std::vector<std::string> keys = {keys_.Dead(queue), keys_.Jobs(queue)};
  std::vector<std::string> args = {ToString(clock_.NowMs()),
                                   ToString(std::max<int64_t>(options_.dlq_ttl_ms, 0)),
                                   ToString(std::max<int64_t>(options_.dlq_max, 0)),
                                   ToString(std::max<int64_t>(limit, 1))};
  auto reply = connection_.Eval(ScriptNamed("trim_dead"), keys, args);
  if (!reply) return reply.status().WithContext("queue.TrimDead");
  if (!reply->is_array() || reply->elements.size() != 3) {
    return BadShape("queue.TrimDead", *reply);
  }
  TrimResult out;
  out.expired = IntOf(reply->elements[0]);
  out.over_cap = IntOf(reply->elements[1]);
  out.more = IntOf(reply->elements[2]) == 1;
  return out;
}

Result<bool> Broker::BlockOn(redis::Connection& blocking, std::vector<std::string> keys,
                             std::chrono::milliseconds timeout) {
  auto popped = BlockPop(blocking, std::move(keys), timeout);
  if (!popped) return popped.status();
  return popped->has_value();
}

Result<std::optional<std::pair<std::string, std::string>>> Broker::BlockPop(
    redis::Connection& blocking, std::vector<std::string> keys,
    std::chrono::milliseconds timeout) {
  redis::Command cmd("BLPOP");
  for (const auto& k : keys) cmd.Arg(k);
  // BLPOP takes seconds as a decimal; never 0 (that would block forever).
  double seconds = std::max<double>(static_cast<double>(timeout.count()) / 1000.0, 0.001);
  cmd.Arg(seconds);
  auto reply = blocking.Blocking(cmd, timeout);
  if (!reply) return reply.status().WithContext("queue.Wait");
  if (reply->is_error()) return Status::Internal("queue.Wait: " + reply->str);
  if (reply->is_nil()) return std::optional<std::pair<std::string, std::string>>();
  if (!reply->is_array() || reply->elements.size() != 2) return BadShape("queue.Wait", *reply);
  return std::optional<std::pair<std::string, std::string>>(
      std::pair(std::move(reply->elements[0].str), std::move(reply->elements[1].str)));
}

Result<bool> Broker::WaitForWork(redis::Connection& blocking,
                                 const std::vector<std::string>& queues,
                                 std::chrono::milliseconds timeout, const std::string& wake_key) {
  return WaitForWork(blocking, queues, timeout, wake_key, {}, {}, nullptr);
}

Result<bool> Broker::WaitForWork(redis::Connection& blocking,
                                 const std::vector<std::string>& queues,
                                 std::chrono::milliseconds timeout, const std::string& wake_key,
                                 const std::string& worker,
                                 const std::vector<std::string>& inbox_queues,
                                 std::optional<LeasedJob>* handed) {
  std::vector<std::string> keys;
  for (const auto& q : queues) keys.push_back(keys_.Marker(q));
  for (const auto& q : inbox_queues) keys.push_back(keys_.Inbox(q, worker));
  if (!wake_key.empty()) keys.push_back(wake_key);
  auto popped = BlockPop(blocking, std::move(keys), timeout);
  if (!popped) return popped.status();
  if (!popped->has_value()) return false;
  const auto& [key, value] = **popped;
  for (const auto& q : inbox_queues) {
    if (key != keys_.Inbox(q, worker)) continue;
    auto job = DecodeHanded(value, q, clock_.NowMs());
    if (!job) return job.status().WithContext("queue.Wait");
    if (handed != nullptr) *handed = std::move(*job);
    break;
  }
  return true;
}

Result<bool> Broker::WaitForTimer(redis::Connection& blocking,
                                  const std::vector<std::string>& queues,
                                  std::chrono::milliseconds timeout,
                                  const std::string& extra_key) {
  std::vector<std::string> keys;
  for (const auto& q : queues) keys.push_back(keys_.Timer(q));
  if (!extra_key.empty()) keys.push_back(extra_key);
  return BlockOn(blocking, std::move(keys), timeout);
}

}  // namespace bananas::queue
