#!lua
-- schedule_advance.lua: record what happened to a schedule's occurrence and move it on.
-- KEYS[1] <p>:{cron}:schedule:<id>   KEYS[2] <p>:{cron}:due
-- ARGV[1] mode: 'fire' (an occurrence: compare-and-set on next_run) or 'manual' (a trigger:
--         no compare, next_run unchanged)
-- ARGV[2] id
-- ARGV[3] fire: the occurrence (unix ms) the caller read as next_run; manual: unused
-- ARGV[4] fire: the new next_run (unix ms), -1 = never
-- ARGV[5] '1' when a job was enqueued (run_count + 1, last_run/last_job set), '0' if not
-- ARGV[6] last_run to record (unix ms: the occurrence, or now for a trigger)
-- ARGV[7] job id ('' if none)   ARGV[8] error ('' clears last_error)   ARGV[9] now (unix ms)
-- Returns: 1 recorded; 0 the schedule is gone or (fire) its next_run is no longer ARGV[3]:
--          another scheduler recorded this occurrence first, or the schedule was changed.
-- Guarantee: each occurrence is recorded once, however many schedulers fired it: only the
--          caller that still finds next_run == ARGV[3] advances it. The due index follows
--          next_run, enabled and paused in the same step, and the occurrence's claim
--          (schedule_claim.lua) is cleared with it.
-- Complexity: O(log n).
local hash, due = KEYS[1], KEYS[2]
local mode, id = ARGV[1], ARGV[2]
if redis.call('EXISTS', hash) == 0 then return 0 end
if mode == 'fire' then
  if redis.call('HGET', hash, 'next_run') ~= ARGV[3] then return 0 end
  local next_run = tonumber(ARGV[4])
  if not next_run then return redis.error_reply('BANANAS schedule_advance: bad next_run') end
  redis.call('HSET', hash, 'next_run', ARGV[4])  -- the caller's text, not a float
  redis.call('HDEL', hash, 'claim', 'claim_queue')  -- schedule_claim.lua: the occurrence is done
  local state = redis.call('HMGET', hash, 'enabled', 'paused')
  if state[1] == '1' and state[2] ~= '1' and next_run >= 0 then
    redis.call('ZADD', due, next_run, id)
  else
    redis.call('ZREM', due, id)
  end
end
if ARGV[5] == '1' then
  redis.call('HINCRBY', hash, 'run_count', 1)
  redis.call('HSET', hash, 'last_run', ARGV[6], 'last_job', ARGV[7])
end
redis.call('HSET', hash, 'last_error', ARGV[8], 'updated', ARGV[9])
return 1
