#!lua
-- cancel.lua: cancel a job that has not started, or ask a running one to stop.
-- KEYS[1] <p>:{q}:pending:high   KEYS[2] <p>:{q}:pending:normal   KEYS[3] <p>:{q}:pending:low
-- KEYS[4] <p>:{q}:scheduled      KEYS[5] <p>:{q}:retry
-- KEYS[6] <p>:{q}:job:<id>       the job hash
-- ARGV[1] now (unix ms)   ARGV[2] id   ARGV[3] ttl of the cancelled job (ms; 0 = keep)
-- Derived: KEYS[6]..':done', the shard channel published to when a client waits.
-- Returns: 'cancelled' (it will not run), 'requested' (active: its handler sees the flag at
--          the next heartbeat), 'terminal' (completed, failed or cancelled already),
--          'notfound'.
-- Guarantee: a cancelled job is in no pending list or zset; the state and the removal are
--          one atomic step, so no worker can lease it afterwards.
-- Complexity: O(length of its pending list) for a pending job (LREM), else O(log n).
local pending = {high = KEYS[1], normal = KEYS[2], low = KEYS[3]}
local scheduled, retry, job = KEYS[4], KEYS[5], KEYS[6]
local now = tonumber(ARGV[1])
local id = ARGV[2]
local ttl = tonumber(ARGV[3])

local f = redis.call('HMGET', job, 'state', 'priority', 'notify')
local state = f[1]
if not state then return 'notfound' end
if state == 'active' then
  redis.call('HSET', job, 'cancel', '1', 'updated', now)
  return 'requested'
end
if state == 'pending' then
  redis.call('LREM', pending[f[2]], 1, id)
elseif state == 'scheduled' then
  redis.call('ZREM', scheduled, id)
elseif state == 'retrying' then
  redis.call('ZREM', retry, id)
else
  return 'terminal'
end
redis.call('HSET', job, 'state', 'cancelled', 'finished', now, 'updated', now)
if ttl > 0 then redis.call('PEXPIRE', job, ttl) end
if f[3] == '1' then redis.call('SPUBLISH', job .. ':done', 'cancelled') end
return 'cancelled'
