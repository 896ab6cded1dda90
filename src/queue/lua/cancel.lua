#!lua
-- cancel.lua: cancel a job that has not started, or ask a running one to stop.
-- KEYS[1] <p>:{q}:jobs           hash id -> record
-- KEYS[2] <p>:{q}:stale          hash priority -> tombstones in that pending list
-- KEYS[3] <p>:{q}:scheduled      KEYS[4] <p>:{q}:retry     KEYS[5] <p>:{q}:dead
-- KEYS[6] <p>:{q}:leases         zset id -> lease deadline
-- KEYS[7] <p>:{q}:cancel         set of ids whose cancellation was asked
-- KEYS[8] <p>:{q}:notify         KEYS[9] <p>:{q}:ended:  (watchers, as fail.lua)
-- KEYS[10] <p>:{q}:done:         prefix of the done buckets    KEYS[11] <p>:{q}:buckets
-- ARGV[1] now (unix ms)   ARGV[2] id   ARGV[3] ttl of the cancelled job (ms; 0 = keep)
-- Returns: 'cancelled' (it will not run), 'requested' (active: its holder's heartbeat reports
--          the request), 'terminal' (completed, failed or cancelled already), 'notfound'.
-- Guarantee: a cancelled job is never leased: its record leaves `jobs` and its final record
--          (state cancelled, nothing charged) enters a done bucket in one atomic step. A
--          scheduled or retrying job leaves its zset. A pending job's id stays in its list
--          as a tombstone (counted in KEYS[2], so queue depths leave it out): dequeue.lua
--          leases only ids that have a record, and drops tombstones when it reaches them.
-- Complexity: O(log n) for a job with a record; one HGET per live done bucket for an id
--          without one.
-- #include record.lua
-- #include locate.lua
local jobs, stale, scheduled, retry, dead = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local leases, cancel, notify, ended = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local done_prefix, buckets = KEYS[10], KEYS[11]
local now = tonumber(ARGV[1])
local id = ARGV[2]
local ttl = tonumber(ARGV[3])
local priority_names = {h = 'high', n = 'normal', l = 'low'}

local rec = redis.call('HGET', jobs, id)
if not rec then
  if find_final(buckets, id, now) then return 'terminal' end
  return 'notfound'
end
if redis.call('ZSCORE', dead, id) then return 'terminal' end
if redis.call('ZREM', scheduled, id) == 0 and redis.call('ZREM', retry, id) == 0 then
  if redis.call('ZSCORE', leases, id) then
    redis.call('SADD', cancel, id)
    return 'requested'
  end
  redis.call('HINCRBY', stale, priority_names[record_priority(rec)], 1)
end
redis.call('HDEL', jobs, id)
store_final(done_prefix, buckets, 'x', now, ttl, id, cancelled_record(rec, now))
if redis.call('SREM', notify, id) == 1 then redis.call('SPUBLISH', ended .. id, 'cancelled') end
return 'cancelled'
