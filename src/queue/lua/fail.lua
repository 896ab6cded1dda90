#!lua
-- fail.lua: record a failed run; schedule a retry, or move the job to the DLQ after its last.
-- KEYS[1] <p>:{q}:leases   zset id -> lease deadline
-- KEYS[2] <p>:{q}:retry    zset id -> retry_at (unix ms)
-- KEYS[3] <p>:{q}:dead     zset id -> time of death (unix ms)
-- KEYS[4] <p>:{q}:timer    list of scheduler wake-up tokens
-- KEYS[5] <p>:{q}:jobs     hash id -> record
-- KEYS[6] <p>:{q}:tokens   hash id -> fencing token of its lease ('s' appended once started)
-- KEYS[7] <p>:{q}:cancel   set of ids whose cancellation was asked
-- KEYS[8] <p>:{q}:notify   set of ids a client waits on
-- KEYS[9] <p>:{q}:ended:   prefix of the shard channels a watched job's end is published on
-- KEYS[10] <p>:{q}:done:   prefix of the done buckets    KEYS[11] <p>:{q}:buckets
-- ARGV[1] now (unix ms)   ARGV[2] id   ARGV[3] fencing token   ARGV[4] error message
-- ARGV[5] retry_at (unix ms), computed by the caller: exponential backoff with jitter, capped
-- ARGV[6] '1' if the error may be retried, '0' to go to the DLQ at once, 'c' if the handler
--         stopped because cancellation was requested (the job ends cancelled, not dead)
-- ARGV[7] how many entries of error history to keep
-- ARGV[8] ttl of a cancelled job (ms; 0 = keep)   (RESULT_TTL_FAILURE)
-- Returns: {'retry', retry_at} | {'dead'} | {'cancelled'} | {'lost'} (no lease under that token)
-- Guarantee: only the current lease holder moves the job; it leaves leases and enters retry,
--          dead or a done bucket in one atomic step, the run charged (attempts + 1) and the
--          error appended to its history. A job runs at most max_retries + 1 times: attempts
--          (runs charged) <= max_retries means retry. A job whose cancellation was asked is
--          not retried: it ends cancelled (a retry would run it again).
-- Complexity: two HGETs, one ZREM, HDEL and SREM, one HSET and one ZADD (or the done bucket's
--          three calls), cjson of the history (at most ARGV[7] entries).
-- #include lease.lua
-- #include record.lua
local leases, retry, dead, timer, jobs = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local tokens, cancel, notify, ended = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local done_prefix, buckets = KEYS[10], KEYS[11]
local now = tonumber(ARGV[1])
local id = ARGV[2]
local token = ARGV[3]
local message = ARGV[4]
local retry_at = tonumber(ARGV[5])
local retryable = ARGV[6] == '1'
local cancelled = ARGV[6] == 'c'
local history_cap = tonumber(ARGV[7])
local cancelled_ttl = tonumber(ARGV[8]) or 0

if not holds(redis.call('HGET', tokens, id), token) then return {'lost'} end
redis.call('ZREM', leases, id)
redis.call('HDEL', tokens, id)
local r = parse_record(redis.call('HGET', jobs, id))
if not r then return {'lost'} end  -- no record: nothing to move (not a state v2 produces)
local cancel_asked = redis.call('SREM', cancel, id) == 1

r.attempts = r.attempts + 1
append_error(r, r.attempts, now, message, history_cap)
local retries = retryable and r.attempts <= r.max_retries
if cancel_asked and retries then cancelled = true end

local function published(state)
  if redis.call('SREM', notify, id) == 1 then redis.call('SPUBLISH', ended .. id, state) end
end

if cancelled then
  redis.call('HDEL', jobs, id)
  store_final(done_prefix, buckets, 'x', now, cancelled_ttl, id,
              cancelled_record(build_record(r), now))
  published('cancelled')
  return {'cancelled'}
end
if retries then
  local head = redis.call('ZRANGE', retry, 0, 0, 'WITHSCORES')
  r.run_at = ARGV[5]
  redis.call('HSET', jobs, id, build_record(r))
  redis.call('ZADD', retry, retry_at, id)
  if (#head == 0 or retry_at < tonumber(head[2])) and redis.call('LLEN', timer) == 0 then
    redis.call('LPUSH', timer, '1')
  end
  return {'retry', retry_at}
end
redis.call('HSET', jobs, id, build_record(r))
redis.call('ZADD', dead, now, id)
published('failed')
return {'dead'}
