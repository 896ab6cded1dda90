#!lua
-- retry_dead.lua: move jobs from the DLQ back to pending, with fresh attempts.
-- KEYS[1] <p>:{q}:dead   zset id -> time of death
-- KEYS[2] <p>:{q}:pending:high   KEYS[3] <p>:{q}:pending:normal   KEYS[4] <p>:{q}:pending:low
-- KEYS[5] <p>:{q}:marker   KEYS[6] <p>:{q}:job:  prefix of job hashes
-- ARGV[1] now (unix ms)   ARGV[2] the most jobs to move in this call
-- ARGV[3..] ids to retry; none means the oldest ARGV[2] entries of the DLQ
-- Returns: the number of jobs moved (ids not in the DLQ are skipped).
-- Guarantee: a job leaves the DLQ and becomes pending in one atomic step; its error history
--          is kept, attempts and recoveries start again from 0.
-- Complexity: O(moved * log n).
local dead = KEYS[1]
local pending = {high = KEYS[2], normal = KEYS[3], low = KEYS[4]}
local marker, job_prefix = KEYS[5], KEYS[6]
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])

local ids = {}
if #ARGV >= 3 then
  for i = 3, math.min(#ARGV, 2 + limit) do ids[#ids + 1] = ARGV[i] end
else
  ids = redis.call('ZRANGE', dead, 0, limit - 1)
end
local moved = 0
for _, id in ipairs(ids) do
  if redis.call('ZREM', dead, id) == 1 then
    local job = job_prefix .. id
    local priority = redis.call('HGET', job, 'priority')
    if priority and pending[priority] then
      redis.call('HSET', job, 'state', 'pending', 'attempts', 0, 'recoveries', 0,
                 'updated', now)
      redis.call('HDEL', job, 'finished', 'cancel')
      redis.call('LPUSH', pending[priority], id)
      moved = moved + 1
    end
  end
end
if moved > 0 and redis.call('LLEN', marker) == 0 then redis.call('LPUSH', marker, '1') end
return moved
