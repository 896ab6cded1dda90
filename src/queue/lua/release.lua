#!lua
-- release.lua: hand leased jobs back to their queue at shutdown, without counting the run.
-- KEYS[1] <p>:{q}:leases     zset id -> lease deadline
-- KEYS[2] <p>:{q}:pending:high   KEYS[3] <p>:{q}:pending:normal   KEYS[4] <p>:{q}:pending:low
-- KEYS[5] <p>:{q}:marker     worker wake-up tokens
-- KEYS[6] <p>:{q}:jobs       hash id -> record
-- KEYS[7] <p>:{q}:tokens     KEYS[8] <p>:{q}:cancel    KEYS[9] <p>:{q}:notify
-- KEYS[10] <p>:{q}:done:     prefix of the done hashes   KEYS[11] <p>:{q}:buckets
-- ARGV[1] now (unix ms)   ARGV[2] ttl of a job that ends cancelled (ms; 0 = keep)
-- ARGV[3] the prefix of the jobs' shard channels (<p>:{q}:ended:)
-- ARGV[4 + 2*(i-1)], ARGV[5 + 2*(i-1)]: job i's id and token
-- Returns: one integer per job: 1 handed back (or ended cancelled), 0 lease already lost.
-- Guarantee: only the current lease holder hands a job back; the job leaves the lease set
--          and re-enters the tail of its pending list (it runs next) in one step. The
--          interrupted run is not counted: the record is as it was before the lease, so a
--          graceful shutdown never uses up a job's retries. A job whose cancellation was
--          requested while it was leased ends cancelled here instead: handing it back would
--          run it.
-- Complexity: two HMGETs, one ZREM, one HDEL, one RPUSH per priority, one EXISTS (+ the
--          cancelled ones' writes when a cancellation or a watch is pending).
-- #include lease.lua
-- #include record.lua
local leases = KEYS[1]
local pending = {h = KEYS[2], n = KEYS[3], l = KEYS[4]}
local marker, jobs, tokens, cancel, notify = KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local done_prefix, buckets = KEYS[10], KEYS[11]
local now = tonumber(ARGV[1])
local cancelled_ttl = tonumber(ARGV[2]) or 0
local channel_prefix = ARGV[3]
local n = (#ARGV - 3) / 2

local given = {}
for i = 1, n do given[i] = ARGV[2 + 2 * i] end
local stored = redis.call('HMGET', tokens, unpack(given))
local out, ids = {}, {}
for i = 1, n do
  if holds(stored[i], ARGV[3 + 2 * i]) then
    ids[#ids + 1] = given[i]
    out[i] = 1
  else
    out[i] = 0
  end
end
if #ids == 0 then return out end
redis.call('ZREM', leases, unpack(ids))
redis.call('HDEL', tokens, unpack(ids))
local recs = redis.call('HMGET', jobs, unpack(ids))
local asked, watched = {}, {}
if redis.call('EXISTS', cancel, notify) > 0 then
  asked = redis.call('SMISMEMBER', cancel, unpack(ids))
  watched = redis.call('SMISMEMBER', notify, unpack(ids))
end
local back = {h = {}, n = {}, l = {}}
local released = 0
for i = 1, #ids do
  local rec = recs[i]
  if rec and asked[i] == 1 then
    redis.call('HDEL', jobs, ids[i])
    redis.call('SREM', cancel, ids[i])
    store_final(done_prefix, buckets, 'x', now, cancelled_ttl, ids[i],
                cancelled_record(rec, now))
    if watched[i] == 1 then
      redis.call('SREM', notify, ids[i])
      redis.call('SPUBLISH', channel_prefix .. ids[i], 'cancelled')
    end
  elseif rec then
    local list = back[record_priority(rec)]
    if list then
      list[#list + 1] = ids[i]
      released = released + 1
    end
  end
end
for _, p in ipairs({'h', 'n', 'l'}) do
  if #back[p] > 0 then redis.call('RPUSH', pending[p], unpack(back[p])) end
end
if released > 0 and redis.call('LLEN', marker) == 0 then redis.call('LPUSH', marker, '1') end
return out
