#!lua
-- fail.lua: record a failed run; schedule a retry, or move the job to the DLQ after its last.
-- KEYS[1] <p>:{q}:leases   zset id -> lease deadline
-- KEYS[2] <p>:{q}:retry    zset id -> retry_at (unix ms)
-- KEYS[3] <p>:{q}:dead     zset id -> time of death (unix ms)
-- KEYS[4] <p>:{q}:timer    list of scheduler wake-up tokens
-- KEYS[5] <p>:{q}:job:<id> the job hash
-- ARGV[1] now (unix ms)   ARGV[2] id   ARGV[3] fencing token   ARGV[4] error message
-- ARGV[5] retry_at (unix ms), computed by the caller: exponential backoff with jitter, capped
-- ARGV[6] '1' if the error may be retried, '0' to go to the DLQ at once, 'c' if the handler
--         stopped because cancellation was requested (the job ends cancelled, not dead)
-- ARGV[7] how many entries of error history to keep
-- ARGV[8] ttl of a cancelled job (ms; 0 = keep)
-- Derived: KEYS[5]..':done', the shard channel published to on death when a client waits.
-- Returns: {'retry', retry_at} | {'dead'} | {'cancelled'} | {'lost'} (stale token or not active)
-- Guarantee: only the current lease holder moves the job; it leaves leases and enters retry
--          or dead in one atomic step, with the error appended to its history. A job runs at
--          most max_retries + 1 times: attempts (runs started) <= max_retries means retry.
-- Complexity: one HMGET, one ZREM, one HSET, one ZADD, cjson of the history.
local leases, retry, dead, timer, job = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now = tonumber(ARGV[1])
local id = ARGV[2]
local token = ARGV[3]
local message = ARGV[4]
local retry_at = tonumber(ARGV[5])
local retryable = ARGV[6] == '1'
local cancelled = ARGV[6] == 'c'
local history_cap = tonumber(ARGV[7])
local cancelled_ttl = tonumber(ARGV[8]) or 0

local f = redis.call('HMGET', job, 'state', 'token', 'attempts', 'max_retries', 'errors',
                     'notify')
if f[1] ~= 'active' or f[2] ~= token then return {'lost'} end
redis.call('ZREM', leases, id)

local attempts = tonumber(f[3]) or 0
local max_retries = tonumber(f[4]) or 0
local history = {}
if f[5] then history = cjson.decode(f[5]) end
history[#history + 1] = {attempt = attempts, at = now, error = message}
while #history > history_cap do table.remove(history, 1) end
local encoded = cjson.encode(history)

if cancelled then
  redis.call('HSET', job, 'state', 'cancelled', 'error', message, 'errors', encoded,
             'finished', now, 'updated', now)
  if cancelled_ttl > 0 then redis.call('PEXPIRE', job, cancelled_ttl) end
  if f[6] == '1' then redis.call('SPUBLISH', job .. ':done', 'cancelled') end
  return {'cancelled'}
end
if retryable and attempts <= max_retries then
  local head = redis.call('ZRANGE', retry, 0, 0, 'WITHSCORES')
  redis.call('HSET', job, 'state', 'retrying', 'error', message, 'errors', encoded,
             'run_at', retry_at, 'updated', now)
  redis.call('ZADD', retry, retry_at, id)
  if (#head == 0 or retry_at < tonumber(head[2])) and redis.call('LLEN', timer) == 0 then
    redis.call('LPUSH', timer, '1')
  end
  return {'retry', retry_at}
end
redis.call('HSET', job, 'state', 'failed', 'error', message, 'errors', encoded,
           'finished', now, 'updated', now)
redis.call('ZADD', dead, now, id)
if f[6] == '1' then redis.call('SPUBLISH', job .. ':done', 'failed') end
return {'dead'}
