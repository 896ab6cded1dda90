#!lua
-- schedule_pause.lua: pause a schedule, or resume it from a new next_run.
-- KEYS[1] <p>:{cron}:schedule:<id>   KEYS[2] <p>:{cron}:due   KEYS[3] <p>:{cron}:wake
-- ARGV[1] '1' pause, '0' resume   ARGV[2] id   ARGV[3] now (unix ms)
-- ARGV[4] resume only: next_run (unix ms) computed from now; -1 = never
-- Returns: 1 done, 0 no such schedule.
-- Guarantee: a paused schedule has no due entry, so no scheduler fires it; a resumed one
--          continues from ARGV[4]: occurrences that passed while it was paused do not run
--          (pausing means "not now", not "later").
-- Complexity: O(log n).
local hash, due, wake = KEYS[1], KEYS[2], KEYS[3]
local pause, id, now = ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', hash) == 0 then return 0 end
if pause == '1' then
  redis.call('HSET', hash, 'paused', 1, 'updated', now)
  redis.call('ZREM', due, id)
  return 1
end
local next_run = tonumber(ARGV[4])
if not next_run then return redis.error_reply('BANANAS schedule_pause: bad next_run') end
redis.call('HSET', hash, 'paused', 0, 'updated', now, 'next_run', ARGV[4])
if redis.call('HGET', hash, 'enabled') == '1' and next_run >= 0 then
  redis.call('ZADD', due, next_run, id)
  if redis.call('LLEN', wake) == 0 then redis.call('LPUSH', wake, '1') end
else
  redis.call('ZREM', due, id)
end
return 1
