#!lua
-- purge_dead.lua: delete jobs from the DLQ for good.
-- KEYS[1] <p>:{q}:dead   zset id -> time of death
-- KEYS[2] <p>:{q}:jobs   hash id -> record
-- ARGV[1] the most jobs to delete in this call
-- ARGV[2..] ids to delete; none means the oldest ARGV[1] entries of the DLQ
-- Returns: the number of jobs deleted (ids not in the DLQ are skipped).
-- Guarantee: an id leaves the DLQ and its record is deleted in one atomic step; a job that
--          is not dead (not in the DLQ) is never deleted here.
-- Complexity: O(deleted * log n): per id one ZREM, per job deleted one HDEL.
local dead, jobs = KEYS[1], KEYS[2]
local limit = tonumber(ARGV[1])
local ids = {}
if #ARGV >= 2 then
  for i = 2, math.min(#ARGV, 1 + limit) do ids[#ids + 1] = ARGV[i] end
else
  ids = redis.call('ZRANGE', dead, 0, limit - 1)
end
local deleted = 0
for _, id in ipairs(ids) do
  if redis.call('ZREM', dead, id) == 1 then
    redis.call('HDEL', jobs, id)
    deleted = deleted + 1
  end
end
return deleted
