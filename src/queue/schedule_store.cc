#include "queue/schedule_store.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include "cron/cron.h"
#include "queue/lua_sources.h"

namespace bananas::queue {
namespace {

using redis::Reply;

const redis::Script& ScriptNamed(std::string_view name) {
  static const auto* scripts = [] {
    auto* m = new std::map<std::string, redis::Script, std::less<>>();
    for (const char* n : {"schedule_put", "schedule_delete", "schedule_pause", "schedule_advance",
                          "schedule_claim"}) {
      m->emplace(n, redis::Script(n, std::string(LuaSource(n))));
    }
    return m;
  }();
  return scripts->find(name)->second;
}

Status BadShape(std::string_view op, const Reply& reply) {
  return Status::Internal(std::string(op) + ": unexpected reply " + reply.Describe());
}

int64_t ToInt(std::string_view text, int64_t fallback) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && ptr == text.data() + text.size() ? v : fallback;
}

std::string NotFoundMessage(std::string_view id) {
  return "schedule " + std::string(id) + ": not found";
}

Result<Schedule> Decode(std::string_view id, const Reply& reply) {
  if (!reply.is_array() || reply.elements.size() % 2 != 0) {
    return BadShape("queue.GetSchedule", reply);
  }
  if (reply.elements.empty()) return Status::NotFound(NotFoundMessage(id));
  std::map<std::string_view, std::string_view> f;
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    f[reply.elements[i].str] = reply.elements[i + 1].str;
  }
  auto get = [&](std::string_view key) -> std::string {
    auto it = f.find(key);
    return it == f.end() ? std::string() : std::string(it->second);
  };
  Schedule s;
  s.spec.id = std::string(id);
  s.spec.cron = get("cron");
  s.spec.timezone = get("timezone");
  auto missed = ParseMissedPolicy(get("missed"));
  s.spec.missed = missed ? *missed : MissedPolicy::kOnce;
  s.spec.enabled = get("enabled") == "1";
  s.spec.source = get("source");
  s.spec.job.name = get("name");
  s.spec.job.payload = get("payload");
  auto priority = ParsePriority(get("priority"));
  if (!priority) {
    return Status::Corruption("schedule " + std::string(id) + ": bad priority \"" +
                              get("priority") + "\"");
  }
  s.spec.job.priority = *priority;
  s.spec.job.queue = get("queue");
  s.spec.job.max_retries = static_cast<int>(ToInt(get("max_retries"), 0));
  s.spec.job.timeout_ms = ToInt(get("timeout_ms"), 0);
  s.spec.job.description = get("description");
  s.next_run_unix_ms = ToInt(get("next_run"), -1);
  s.last_run_unix_ms = ToInt(get("last_run"), 0);
  s.run_count = ToInt(get("run_count"), 0);
  s.last_error = get("last_error");
  s.last_job_id = get("last_job");
  s.paused = get("paused") == "1";
  s.created_unix_ms = ToInt(get("created"), 0);
  s.updated_unix_ms = ToInt(get("updated"), 0);
  return s;
}

}  // namespace

ScheduleStore::ScheduleStore(redis::Connection& connection, std::string prefix, const Clock& clock)
    : connection_(connection), clock_(clock), keys_(std::move(prefix)) {}

std::string ScheduleStore::OccurrenceKey(std::string_view id, int64_t occurrence_unix_ms) {
  return "sched:" + std::string(id) + ":" + std::to_string(occurrence_unix_ms);
}

JobSpec ScheduleStore::OccurrenceJob(const ScheduleSpec& spec, int64_t occurrence_unix_ms) {
  JobSpec job = spec.job;
  job.run_at_unix_ms = 0;
  job.unique_key = OccurrenceKey(spec.id, occurrence_unix_ms);
  job.unique_ttl_ms = kOccurrenceUniqueTtlMs;
  return job;
}

Result<bool> ScheduleStore::Put(const ScheduleSpec& spec, int64_t next_run_unix_ms, PutMode mode) {
  BANANAS_RETURN_IF_ERROR(ValidateScheduleId(spec.id));
  BANANAS_RETURN_IF_ERROR(ValidateJobSpec(spec.job).WithContext("job"));
  const char* mode_name =
      mode == PutMode::kCreate ? "create" : (mode == PutMode::kReplace ? "replace" : "upsert");
  std::vector<std::string> keys = {keys_.Schedule(spec.id), keys_.ScheduleDue(),
                                   keys_.ScheduleIds(), keys_.ScheduleWake()};
  std::vector<std::string> args = {mode_name,
                                   std::to_string(clock_.NowMs()),
                                   std::to_string(next_run_unix_ms),
                                   spec.id,
                                   spec.cron,
                                   spec.timezone,
                                   std::string(MissedPolicyName(spec.missed)),
                                   spec.enabled ? "1" : "0",
                                   spec.source,
                                   spec.job.name,
                                   spec.job.payload,
                                   std::string(PriorityName(spec.job.priority)),
                                   spec.job.queue,
                                   std::to_string(spec.job.max_retries),
                                   std::to_string(spec.job.timeout_ms),
                                   spec.job.description};
  auto reply = connection_.Eval(ScriptNamed("schedule_put"), keys, args);
  if (!reply) return reply.status().WithContext("queue.PutSchedule");
  if (!reply->is_string()) return BadShape("queue.PutSchedule", *reply);
  if (reply->str == "created") return true;
  if (reply->str == "updated") return false;
  if (reply->str == "exists") {
    return Status::AlreadyExists("schedule " + spec.id + ": already exists");
  }
  if (reply->str == "notfound") return Status::NotFound(NotFoundMessage(spec.id));
  return BadShape("queue.PutSchedule", *reply);
}

Result<Schedule> ScheduleStore::Get(std::string_view id) {
  if (!ValidateScheduleId(id).ok()) return Status::NotFound(NotFoundMessage(id));
  auto reply = connection_.Run(redis::Command("HGETALL").Arg(keys_.Schedule(id)));
  if (!reply) return reply.status().WithContext("queue.GetSchedule");
  return Decode(id, *reply);
}

Result<std::vector<Schedule>> ScheduleStore::List() {
  auto ids = connection_.Run(redis::Command("SMEMBERS").Arg(keys_.ScheduleIds()));
  if (!ids) return ids.status().WithContext("queue.ListSchedules");
  if (!ids->is_array()) return BadShape("queue.ListSchedules", *ids);
  std::vector<std::string> sorted;
  for (const auto& e : ids->elements) sorted.push_back(e.str);
  std::sort(sorted.begin(), sorted.end());
  if (sorted.size() > kMaxList) sorted.resize(kMaxList);
  std::vector<Schedule> out;
  if (sorted.empty()) return out;
  redis::Pipeline p;
  for (const auto& id : sorted) p.Add(redis::Command("HGETALL").Arg(keys_.Schedule(id)));
  auto hashes = connection_.Run(p);
  if (!hashes) return hashes.status().WithContext("queue.ListSchedules");
  for (size_t i = 0; i < sorted.size(); ++i) {
    auto s = Decode(sorted[i], (*hashes)[i]);
    if (s) {
      out.push_back(std::move(*s));
    } else if (!s.status().IsNotFound()) {  // deleted between the two reads: not listed
      return s.status();
    }
  }
  return out;
}

Status ScheduleStore::Delete(std::string_view id) {
  if (!ValidateScheduleId(id).ok()) return Status::NotFound(NotFoundMessage(id));
  auto reply = connection_.Eval(ScriptNamed("schedule_delete"),
                                {keys_.Schedule(id), keys_.ScheduleDue(), keys_.ScheduleIds()},
                                {std::string(id)});
  if (!reply) return reply.status().WithContext("queue.DeleteSchedule");
  if (!reply->is_integer()) return BadShape("queue.DeleteSchedule", *reply);
  if (reply->integer == 0) return Status::NotFound(NotFoundMessage(id));
  return Status::Ok();
}

Status ScheduleStore::Pause(std::string_view id) {
  if (!ValidateScheduleId(id).ok()) return Status::NotFound(NotFoundMessage(id));
  auto reply = connection_.Eval(ScriptNamed("schedule_pause"),
                                {keys_.Schedule(id), keys_.ScheduleDue(), keys_.ScheduleWake()},
                                {"1", std::string(id), std::to_string(clock_.NowMs()), "-1"});
  if (!reply) return reply.status().WithContext("queue.PauseSchedule");
  if (!reply->is_integer()) return BadShape("queue.PauseSchedule", *reply);
  if (reply->integer == 0) return Status::NotFound(NotFoundMessage(id));
  return Status::Ok();
}

Status ScheduleStore::Resume(std::string_view id, int64_t next_run_unix_ms) {
  if (!ValidateScheduleId(id).ok()) return Status::NotFound(NotFoundMessage(id));
  auto reply = connection_.Eval(
      ScriptNamed("schedule_pause"),
      {keys_.Schedule(id), keys_.ScheduleDue(), keys_.ScheduleWake()},
      {"0", std::string(id), std::to_string(clock_.NowMs()), std::to_string(next_run_unix_ms)});
  if (!reply) return reply.status().WithContext("queue.ResumeSchedule");
  if (!reply->is_integer()) return BadShape("queue.ResumeSchedule", *reply);
  if (reply->integer == 0) return Status::NotFound(NotFoundMessage(id));
  return Status::Ok();
}

Status ScheduleStore::ResumeFromNow(std::string_view id) {
  auto current = Get(id);
  if (!current) return current.status();
  // A definition that no longer parses (its zone file vanished) resumes with no next run;
  // the reason shows when it is changed.
  auto cron = cron::CronSchedule::Parse(current->spec.cron, current->spec.timezone);
  return Resume(id, cron ? cron->Next(clock_.NowMs()) : -1);
}

Result<std::string> ScheduleStore::Trigger(Broker& broker, std::string_view id) {
  auto schedule = Get(id);
  if (!schedule) return schedule.status();
  auto enqueued = broker.Enqueue(schedule->spec.job);
  if (!enqueued) return enqueued.status().WithContext("schedule " + std::string(id));
  BANANAS_RETURN_IF_ERROR(RecordTrigger(id, clock_.NowMs(), enqueued->id));
  return enqueued->id;
}

Result<std::vector<ScheduleStore::DueEntry>> ScheduleStore::Due(int64_t now_unix_ms, int limit) {
  auto reply = connection_.Run(redis::Command("ZRANGE")
                                   .Arg(keys_.ScheduleDue())
                                   .Arg("-inf")
                                   .Arg(now_unix_ms)
                                   .Arg("BYSCORE")
                                   .Arg("LIMIT")
                                   .Arg(0)
                                   .Arg(std::max(limit, 1))
                                   .Arg("WITHSCORES"));
  if (!reply) return reply.status().WithContext("queue.DueSchedules");
  if (!reply->is_array() || reply->elements.size() % 2 != 0) {
    return BadShape("queue.DueSchedules", *reply);
  }
  std::vector<DueEntry> out;
  for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
    out.push_back({reply->elements[i].str, ToInt(reply->elements[i + 1].str, 0)});
  }
  return out;
}

Result<int64_t> ScheduleStore::EarliestDue() {
  auto reply = connection_.Run(
      redis::Command("ZRANGE").Arg(keys_.ScheduleDue()).Arg(0).Arg(0).Arg("WITHSCORES"));
  if (!reply) return reply.status().WithContext("queue.EarliestDue");
  if (!reply->is_array()) return BadShape("queue.EarliestDue", *reply);
  if (reply->elements.size() < 2) return int64_t{-1};
  return ToInt(reply->elements[1].str, -1);
}

Result<ScheduleStore::Claim> ScheduleStore::ClaimOccurrence(std::string_view id,
                                                            int64_t occurrence_unix_ms,
                                                            bool claim) {
  auto reply = connection_.Eval(ScriptNamed("schedule_claim"), {keys_.Schedule(id)},
                                {std::to_string(occurrence_unix_ms), claim ? "1" : "0"});
  if (!reply) return reply.status().WithContext("queue.ClaimOccurrence");
  if (!reply->is_array() || reply->elements.empty() || !reply->elements[0].is_integer()) {
    return BadShape("queue.ClaimOccurrence", *reply);
  }
  Claim out;
  switch (reply->elements[0].integer) {
    case 0:
      return out;
    case 1:
      out.current = true;
      return out;
    case 2:
      if (reply->elements.size() != 2 || !reply->elements[1].is_string()) break;
      out.current = true;
      out.claimed = true;
      out.queue = reply->elements[1].str;
      return out;
  }
  return BadShape("queue.ClaimOccurrence", *reply);
}

Result<bool> ScheduleStore::RecordFire(std::string_view id, const Fired& fired) {
  auto reply = connection_.Eval(
      ScriptNamed("schedule_advance"), {keys_.Schedule(id), keys_.ScheduleDue()},
      {"fire", std::string(id), std::to_string(fired.occurrence_unix_ms),
       std::to_string(fired.next_run_unix_ms), fired.ran ? "1" : "0",
       std::to_string(fired.occurrence_unix_ms), fired.job_id, fired.error,
       std::to_string(clock_.NowMs())});
  if (!reply) return reply.status().WithContext("queue.RecordFire");
  if (!reply->is_integer()) return BadShape("queue.RecordFire", *reply);
  return reply->integer == 1;
}

Status ScheduleStore::RecordTrigger(std::string_view id, int64_t at_unix_ms,
                                    std::string_view job_id) {
  auto reply = connection_.Eval(ScriptNamed("schedule_advance"),
                                {keys_.Schedule(id), keys_.ScheduleDue()},
                                {"manual", std::string(id), "0", "-1", "1",
                                 std::to_string(at_unix_ms), std::string(job_id), "",
                                 std::to_string(clock_.NowMs())});
  if (!reply) return reply.status().WithContext("queue.RecordTrigger");
  if (!reply->is_integer()) return BadShape("queue.RecordTrigger", *reply);
  if (reply->integer == 0) return Status::NotFound(NotFoundMessage(id));
  return Status::Ok();
}

}  // namespace bananas::queue
