#include "layout1.h"

#include <fstream>
#include <map>
#include <sstream>

#include "redis/script.h"

#ifndef BANANAS_LAYOUT1_DIR
#error "BANANAS_LAYOUT1_DIR must name tests/support/layout1"
#endif

namespace bananas::testing {
namespace {

const redis::Script& ScriptNamed(const std::string& name) {
  static auto* scripts = new std::map<std::string, redis::Script>();
  auto it = scripts->find(name);
  if (it == scripts->end()) {
    std::ifstream in(std::string(BANANAS_LAYOUT1_DIR) + "/" + name + ".lua", std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    it = scripts->emplace(name, redis::Script("layout1 " + name, text.str())).first;
  }
  return it->second;
}

std::string Str(int64_t v) { return std::to_string(v); }

int64_t IntOf(const redis::Reply& r) {
  if (r.is_integer()) return r.integer;
  return std::strtoll(r.str.c_str(), nullptr, 10);
}

}  // namespace

Layout1::Layout1(redis::Connection& connection, std::string prefix)
    : connection_(connection), prefix_(std::move(prefix)) {}

std::string Layout1::Key(const std::string& queue, const std::string& suffix) const {
  return prefix_ + ":{" + queue + "}:" + suffix;
}

Result<redis::Reply> Layout1::Run(const std::string& script, const std::vector<std::string>& keys,
                                  const std::vector<std::string>& args) {
  const redis::Script& s = ScriptNamed(script);
  if (s.source().empty()) return Status::Internal("layout1: no script " + script);
  return connection_.Eval(s, keys, args);
}

Status Layout1::Enqueue(const std::string& id, const JobSpec& spec, int64_t now) {
  const std::string& q = spec.queue;
  auto registered = connection_.Run(redis::Command("SADD").Arg(prefix_ + ":queues").Arg(q));
  if (!registered) return registered.status();
  std::vector<std::string> keys = {
      Key(q, "pending:high"), Key(q, "pending:normal"), Key(q, "pending:low"), Key(q, "scheduled"),
      Key(q, "marker"),       Key(q, "timer"),          Key(q, "job:"),        Key(q, "unique:"),
      Key(q, "paused"),       Key(q, "leases"),         Key(q, "idle"),        Key(q, "inbox:")};
  std::vector<std::string> args = {Str(now),
                                   "1",
                                   Str(24 * 3'600'000LL),
                                   id,
                                   spec.name,
                                   spec.payload,
                                   std::string(PriorityName(spec.priority)),
                                   Str(spec.max_retries),
                                   Str(spec.timeout_ms),
                                   Str(spec.run_at_unix_ms),
                                   spec.unique_key,
                                   Str(spec.unique_ttl_ms),
                                   spec.description};
  auto reply = Run("enqueue", keys, args);
  if (!reply) return reply.status();
  if (!reply->is_array() || reply->elements.size() != 2 || reply->elements[0].str != id) {
    return Status::Internal("layout1 enqueue: " + reply->Describe());
  }
  return Status::Ok();
}

Result<std::vector<Layout1::Leased>> Layout1::Dequeue(const std::string& queue, int n, int64_t now,
                                                      int64_t lease_ms, int start_now) {
  std::vector<std::string> keys = {
      Key(queue, "paused"),      Key(queue, "pending:high"), Key(queue, "pending:normal"),
      Key(queue, "pending:low"), Key(queue, "leases"),       Key(queue, "job:"),
      Key(queue, "idle"),        Key(queue, "inbox:"),       Key(queue, "stale")};
  std::vector<std::string> args = {Str(now), Str(lease_ms), Str(n), "200",         "hnl",
                                   "",       "0",           "3000", Str(start_now)};
  auto reply = Run("dequeue", keys, args);
  if (!reply) return reply.status();
  if (!reply->is_array()) return Status::Internal("layout1 dequeue: " + reply->Describe());
  std::vector<Leased> out;
  for (const auto& e : reply->elements) {
    if (!e.is_array() || e.elements.size() < 2) continue;
    out.push_back({e.elements[0].str, IntOf(e.elements[1])});
  }
  return out;
}

Result<std::vector<Layout1::Leased>> Layout1::DequeueTypes(const std::string& queue, int n,
                                                           int64_t now,
                                                           const std::vector<std::string>& types,
                                                           int window) {
  std::vector<std::string> keys = {Key(queue, "paused"),         Key(queue, "pending:high"),
                                   Key(queue, "pending:normal"), Key(queue, "pending:low"),
                                   Key(queue, "leases"),         Key(queue, "job:"),
                                   Key(queue, "idle"),           Key(queue, "inbox:"),
                                   Key(queue, "stale"),          Key(queue, "scan")};
  std::vector<std::string> args = {Str(now), "30000", Str(n), Str(window), "hnl",
                                   "",       "0",     "3000", Str(n)};
  args.insert(args.end(), types.begin(), types.end());
  auto reply = Run("dequeue", keys, args);
  if (!reply) return reply.status();
  if (!reply->is_array()) return Status::Internal("layout1 dequeue: " + reply->Describe());
  std::vector<Leased> out;
  for (const auto& e : reply->elements) {
    if (!e.is_array() || e.elements.size() < 2) continue;
    out.push_back({e.elements[0].str, IntOf(e.elements[1])});
  }
  return out;
}

Result<std::string> Layout1::Fail(const std::string& queue, const Leased& lease, int64_t now,
                                  const std::string& error, int64_t retry_at, bool retryable,
                                  int history_cap) {
  std::vector<std::string> keys = {Key(queue, "leases"), Key(queue, "retry"), Key(queue, "dead"),
                                   Key(queue, "timer"), JobKey(queue, lease.id)};
  std::vector<std::string> args = {Str(now),         lease.id,
                                   Str(lease.token), error,
                                   Str(retry_at),    retryable ? "1" : "0",
                                   Str(history_cap), Str(7 * 24 * 3'600'000LL)};
  auto reply = Run("fail", keys, args);
  if (!reply) return reply.status();
  if (!reply->is_array() || reply->elements.empty()) {
    return Status::Internal("layout1 fail: " + reply->Describe());
  }
  return reply->elements[0].str;
}

Status Layout1::Ack(const std::string& queue, const Leased& lease, int64_t now,
                    const std::string& result, int64_t ttl_ms) {
  auto reply = Run("ack", {Key(queue, "leases"), JobKey(queue, lease.id)},
                   {Str(now), Str(ttl_ms), lease.id, Str(lease.token), result});
  if (!reply) return reply.status();
  if (!reply->is_array() || reply->elements.size() != 1 || IntOf(reply->elements[0]) != 1) {
    return Status::Internal("layout1 ack: " + reply->Describe());
  }
  return Status::Ok();
}

Result<std::string> Layout1::Cancel(const std::string& queue, const std::string& id, int64_t now,
                                    int64_t ttl_ms) {
  auto reply =
      Run("cancel",
          {Key(queue, "stale"), Key(queue, "scheduled"), Key(queue, "retry"), JobKey(queue, id)},
          {Str(now), id, Str(ttl_ms)});
  if (!reply) return reply.status();
  return reply->str;
}

}  // namespace bananas::testing
