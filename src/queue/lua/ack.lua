#!lua
-- ack.lua: complete jobs: check each lease, store each final record, release the leases.
-- KEYS[1] <p>:{q}:leases        zset "<id>:<token>" -> lease deadline (unix ms)
-- KEYS[2] <p>:{q}:jobs          hash id -> record
-- KEYS[3] <p>:{q}:done:         prefix of the done hashes (record.lua store_finals)
-- KEYS[4] <p>:{q}:buckets       zset done-hash key -> expiry
-- KEYS[5] <p>:{q}:started       set of leases reported started
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
-- Complexity: per call one ZMSCORE, one ZREM, one HDEL, one HSET and one PEXPIREAT over the
--          batch (+ a ZADD when the bucket is new), and one EXISTS of the three sets that are
--          usually empty (then an SREM or SMISMEMBER of each that is not). Per job only
--          Lua's copy of its arguments and one concatenation (the lease member).
-- #include lease.lua
-- #include record.lua
local leases, jobs, done_prefix, buckets = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local started, cancel, notify = KEYS[5], KEYS[6], KEYS[7]
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local channel_prefix = ARGV[3]
local n = (#ARGV - 3) / 3

local members = {}
for i = 1, n do
  local b = 4 + 3 * (i - 1)
  members[i] = lease_member(ARGV[b], ARGV[b + 1])
end
local scores = redis.call('ZMSCORE', leases, unpack(members))
local out, valid, ids, finals = {}, {}, {}, {}
for i = 1, n do
  if scores[i] then
    local b = 4 + 3 * (i - 1)
    valid[#valid + 1] = members[i]
    ids[#ids + 1] = ARGV[b]
    finals[#finals + 1] = ARGV[b]
    finals[#finals + 1] = ARGV[b + 2]
    out[i] = 1
  else
    out[i] = 0
  end
end
if #valid == 0 then return out end
redis.call('ZREM', leases, unpack(valid))
redis.call('HDEL', jobs, unpack(ids))
store_finals(done_prefix, buckets, 'c', now, ttl, finals)
if redis.call('EXISTS', started, cancel, notify) > 0 then
  redis.call('SREM', started, unpack(valid))
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
