#!lua
-- cancel.lua: cancel a job that has not started, or ask a running one to stop.
-- KEYS[1] <p>:{q}:stale          hash priority -> tombstones in that pending list
-- KEYS[2] <p>:{q}:scheduled      KEYS[3] <p>:{q}:retry
-- KEYS[4] <p>:{q}:job:<id>       the job hash
-- ARGV[1] now (unix ms)   ARGV[2] id   ARGV[3] ttl of the cancelled job (ms; 0 = keep)
-- Derived: KEYS[4]..':done', the shard channel published to when a client waits.
-- Returns: 'cancelled' (it will not run), 'requested' (active: its handler sees the flag at
--          the next heartbeat), 'terminal' (completed, failed or cancelled already),
--          'notfound'.
-- Guarantee: a cancelled job is never leased: the state change is one atomic step. A
--          scheduled or retrying job leaves its zset. A pending job's id stays in its list
--          as a tombstone (counted in KEYS[1], so queue depths leave it out): dequeue.lua
--          and the hand-off of enqueue.lua lease only jobs whose state is pending
--          (lease.lua), and dequeue.lua drops tombstones when it reaches them.
-- Complexity: O(1) for a pending job (no search of its list), O(log n) otherwise.
local stale, scheduled, retry, job = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[3])
local priorities = {high = true, normal = true, low = true}

local f = redis.call('HMGET', job, 'state', 'priority', 'notify')
local state = f[1]
if not state then return 'notfound' end
if state == 'active' then
  redis.call('HSET', job, 'cancel', '1', 'updated', now)
  return 'requested'
end
if state == 'pending' then
  if priorities[f[2]] then redis.call('HINCRBY', stale, f[2], 1) end
elseif state == 'scheduled' then
  redis.call('ZREM', scheduled, ARGV[2])
elseif state == 'retrying' then
  redis.call('ZREM', retry, ARGV[2])
else
  return 'terminal'
end
redis.call('HSET', job, 'state', 'cancelled', 'finished', now, 'updated', now)
if ttl > 0 then redis.call('PEXPIRE', job, ttl) end
if f[3] == '1' then redis.call('SPUBLISH', job .. ':done', 'cancelled') end
return 'cancelled'
