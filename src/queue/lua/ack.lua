#!lua
-- ack.lua: complete jobs: check each lease, store each final record, release the leases.
-- KEYS[1] <p>:{q}:leases        zset id -> lease deadline (unix ms)
-- KEYS[2] <p>:{q}:tokens        hash id -> fencing token of its lease
-- KEYS[3] <p>:{q}:jobs          hash id -> record
-- KEYS[4] <p>:{q}:done:         prefix of the done hashes (record.lua store_finals)
-- KEYS[5] <p>:{q}:buckets       zset done-hash key -> expiry
-- KEYS[6] <p>:{q}:cancel        set of ids whose cancellation was asked
-- KEYS[7] <p>:{q}:notify        set of ids a client waits on
-- ARGV[1] now (unix ms)   ARGV[2] result ttl (ms; 0 keeps results forever)
-- ARGV[3] the prefix of the jobs' shard channels (<p>:{q}:ended:), published to for
--         watched jobs only
-- ARGV[4 + 3*(i-1) ...] job i: id, fencing token, final record (record.h EncodeCompleted:
--         built by the worker from the record it leased; stored as given)
-- Returns: one integer per job: 1 completed, 0 lease lost (stale token, or not leased).
-- Guarantee: only the holder of the current lease completes a job; a worker whose lease was
--          recovered (and maybe re-granted under a new token) changes nothing. The job leaves
--          the lease set and `jobs` and its final record enters a done hash in one atomic
--          step, so a reader never sees it completed without its result.
-- Complexity: per call one HMGET, one ZREM, two HDELs, one HSET and one PEXPIRE over the
--          batch (+ a ZADD when the bucket is new), and one EXISTS of the two sets that are
--          usually empty (then an SREM and an SMISMEMBER). Per job only Lua's copy of its
--          arguments; nothing is decoded.
-- #include lease.lua
-- #include record.lua
local leases, tokens, jobs, done_prefix, buckets = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local cancel, notify = KEYS[6], KEYS[7]
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local channel_prefix = ARGV[3]
local n = (#ARGV - 3) / 3

local given = {}
for i = 1, n do given[i] = ARGV[1 + 3 * i] end
local stored = redis.call('HMGET', tokens, unpack(given))
local out, ids, finals = {}, {}, {}
for i = 1, n do
  local b = 1 + 3 * i
  if holds(stored[i], ARGV[b + 1]) then
    ids[#ids + 1] = ARGV[b]
    finals[#finals + 1] = ARGV[b]
    finals[#finals + 1] = ARGV[b + 2]
    out[i] = 1
  else
    out[i] = 0
  end
end
if #ids == 0 then return out end
redis.call('ZREM', leases, unpack(ids))
redis.call('HDEL', tokens, unpack(ids))
redis.call('HDEL', jobs, unpack(ids))
store_finals(done_prefix, buckets, 'c', now, ttl, finals)
if redis.call('EXISTS', cancel, notify) > 0 then
  redis.call('SREM', cancel, unpack(ids))
  local watched = redis.call('SMISMEMBER', notify, unpack(ids))
  for i = 1, #ids do
    if watched[i] == 1 then
      redis.call('SREM', notify, ids[i])
      redis.call('SPUBLISH', channel_prefix .. ids[i], 'completed')
    end
  end
end
return out
