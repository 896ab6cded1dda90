#!lua
-- recover_expired.lua: hand back jobs whose lease ran out (their worker died or stalled).
-- KEYS[1] <p>:{q}:leases   zset id -> lease deadline (unix ms)
-- KEYS[2] <p>:{q}:pending:high   KEYS[3] <p>:{q}:pending:normal   KEYS[4] <p>:{q}:pending:low
-- KEYS[5] <p>:{q}:dead     the DLQ
-- KEYS[6] <p>:{q}:marker   worker wake-up tokens
-- KEYS[7] <p>:{q}:job:     prefix of job hashes
-- ARGV[1] now (unix ms)   ARGV[2] the most leases to recover in this call
-- ARGV[3] max recoveries: a job recovered more often than this is a poison pill -> DLQ
-- ARGV[4] how many entries of error history to keep
-- Returns: {recovered, dead}
-- Guarantee: each expired lease is recovered exactly once, however many recoverers run: the
--          lease leaves the zset in the same atomic step that requeues the job. A job whose
--          lease is still marked `unstarted` (tentative, lease.lua: handed to an idle worker
--          or prefetched, and its holder never reported it started) goes back to pending
--          uncharged: its attempt is given back, the recovery is not counted against
--          max_recoveries, and `lost` is set so that its next lease is charged. The job's
--          token is unchanged but its state is no longer active, so the old holder's ack,
--          fail or heartbeat is refused; the next lease gets a new token. A job that has used
--          its last attempt, or keeps killing workers, goes to the DLQ with the reason.
-- Complexity: O(recovered * log n).
local leases = KEYS[1]
local pending = {high = KEYS[2], normal = KEYS[3], low = KEYS[4]}
local dead, marker, job_prefix = KEYS[5], KEYS[6], KEYS[7]
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local max_recoveries = tonumber(ARGV[3])
local history_cap = tonumber(ARGV[4])

local recovered, died = 0, 0
local ids = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(ids) do
  redis.call('ZREM', leases, id)
  local job = job_prefix .. id
  local f = redis.call('HMGET', job, 'state', 'priority', 'attempts', 'max_retries',
                       'recoveries', 'errors', 'notify', 'token', 'unstarted')
  if f[1] == 'active' and pending[f[2]] and f[9] and f[9] == f[8] then
    -- Never started: not a run, not a poison pill. Back to the tail (it runs next).
    redis.call('HSET', job, 'state', 'pending', 'attempts', math.max((tonumber(f[3]) or 1) - 1, 0),
               'lost', 1, 'updated', now)
    redis.call('HDEL', job, 'unstarted')
    redis.call('RPUSH', pending[f[2]], id)
    recovered = recovered + 1
  elseif f[1] == 'active' and pending[f[2]] then
    local attempts = tonumber(f[3]) or 0
    local recoveries = (tonumber(f[5]) or 0) + 1
    local message = 'lease expired: worker lost during attempt ' .. attempts
    local history = {}
    if f[6] then history = cjson.decode(f[6]) end
    history[#history + 1] = {attempt = attempts, at = now, error = message}
    while #history > history_cap do table.remove(history, 1) end
    local encoded = cjson.encode(history)
    if recoveries > max_recoveries or attempts > tonumber(f[4]) then
      if recoveries > max_recoveries then
        message = message .. ' (recovered ' .. recoveries .. ' times: poison pill)'
      end
      redis.call('HSET', job, 'state', 'failed', 'recoveries', recoveries, 'error', message,
                 'errors', encoded, 'finished', now, 'updated', now)
      redis.call('ZADD', dead, now, id)
      if f[7] == '1' then redis.call('SPUBLISH', job .. ':done', 'failed') end
      died = died + 1
    else
      redis.call('HSET', job, 'state', 'pending', 'recoveries', recoveries, 'error', message,
                 'errors', encoded, 'updated', now)
      redis.call('RPUSH', pending[f[2]], id)
      recovered = recovered + 1
    end
  end
end
if recovered > 0 and redis.call('LLEN', marker) == 0 then
  redis.call('LPUSH', marker, '1')
end
return {recovered, died}
