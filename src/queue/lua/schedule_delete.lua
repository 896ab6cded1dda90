#!lua
-- schedule_delete.lua: delete a schedule, its state and its due entry.
-- KEYS[1] <p>:{cron}:schedule:<id>   KEYS[2] <p>:{cron}:due   KEYS[3] <p>:{cron}:ids
-- ARGV[1] id
-- Returns: 1 deleted, 0 no such schedule.
-- Guarantee: the three keys change together; jobs already enqueued are not touched.
-- Complexity: O(log n).
local existed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
return existed
