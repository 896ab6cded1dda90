#!lua
-- retry_dead.lua: move jobs from the DLQ back to pending, with fresh attempts.
-- KEYS[1] <p>:{q}:dead   zset id -> time of death
-- KEYS[2] <p>:{q}:pending:high   KEYS[3] <p>:{q}:pending:normal   KEYS[4] <p>:{q}:pending:low
-- KEYS[5] <p>:{q}:marker   KEYS[6] <p>:{q}:jobs  hash id -> record
-- ARGV[1] now (unix ms)   ARGV[2] the most jobs to move in this call
-- ARGV[3..] ids to retry; none means the oldest ARGV[2] entries of the DLQ
-- Returns: the number of jobs moved (ids not in the DLQ are skipped).
-- Guarantee: a job leaves the DLQ and becomes pending in one atomic step, at the head of its
--          list (behind the backlog); its error history is kept, attempts, recoveries and
--          the uncharged loss start again from 0, and run_at is now (it became due again).
-- Complexity: O(moved * log n): per job one ZREM, HGET and HSET; one LPUSH per job moved.
-- #include record.lua
local dead = KEYS[1]
local pending = {h = KEYS[2], n = KEYS[3], l = KEYS[4]}
local marker, jobs = KEYS[5], KEYS[6]
local now = ARGV[1]
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
    local r = parse_record(redis.call('HGET', jobs, id))
    if r and pending[r.pri] then
      r.attempts, r.recoveries, r.lost, r.run_at = 0, 0, '0', now
      redis.call('HSET', jobs, id, build_record(r))
      redis.call('LPUSH', pending[r.pri], id)
      moved = moved + 1
    end
  end
end
if moved > 0 and redis.call('LLEN', marker) == 0 then redis.call('LPUSH', marker, '1') end
return moved
