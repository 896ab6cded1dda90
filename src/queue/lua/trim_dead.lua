#!lua
-- trim_dead.lua: keep the DLQ bounded. Deletes, oldest first, dead jobs older than the ttl,
-- then the oldest beyond the newest `max`. Called by the scheduler's recovery round, never on
-- a job's own path, so fail.lua stays as cheap as it is.
-- KEYS[1] <p>:{q}:dead   zset id -> time of death (unix ms)
-- KEYS[2] <p>:{q}:jobs   hash id -> record
-- ARGV[1] now (unix ms)
-- ARGV[2] ttl (ms): a job dead at or before now - ttl goes; 0 = no age bound   (DLQ_TTL)
-- ARGV[3] max: the most dead jobs kept; 0 = no count bound                   (DLQ_MAX)
-- ARGV[4] the most jobs to delete in this call (>= 1)
-- Returns: {expired, over_cap, more}: jobs deleted for their age, jobs deleted for the count,
--          and 1 when the call stopped at its limit with more left to trim (call again).
-- Guarantee: a job leaves the DLQ and its record is deleted in one atomic step, oldest death
--          first. Being in the DLQ is being dead (retry_dead.lua takes a job out of it in the
--          same step that makes it pending), so a live job is never deleted here.
-- Complexity: O((deleted + 1) * log n): at most two ZRANGEs and one ZCARD, then one ZREM and
--          one HDEL per batch deleted.
local dead, jobs = KEYS[1], KEYS[2]
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local cutoff = now - ttl

local function remove(ids)
  for i = 1, #ids, 1000 do
    local last = math.min(i + 999, #ids)
    redis.call('ZREM', dead, unpack(ids, i, last))
    redis.call('HDEL', jobs, unpack(ids, i, last))
  end
  return #ids
end

local expired = 0
if ttl > 0 then
  expired = remove(redis.call('ZRANGE', dead, '-inf', cutoff, 'BYSCORE', 'LIMIT', 0, limit))
end

local over_cap = 0
local left = limit - expired
if max > 0 and left > 0 then
  local excess = redis.call('ZCARD', dead) - max
  if excess > 0 then
    over_cap = remove(redis.call('ZRANGE', dead, 0, math.min(excess, left) - 1))
  end
end

local more = 0
if expired + over_cap >= limit then
  if max > 0 and redis.call('ZCARD', dead) > max then
    more = 1
  elseif ttl > 0 and #redis.call('ZRANGE', dead, '-inf', cutoff, 'BYSCORE', 'LIMIT', 0, 1) > 0 then
    more = 1
  end
end
return {expired, over_cap, more}
