#!lua
-- ack.lua: complete jobs: release each lease and store the result, checking each token.
-- KEYS[1]   <p>:{q}:leases        zset id -> lease deadline (unix ms)
-- KEYS[2..] <p>:{q}:job:<id>      the job hashes, in the order of the ARGV triples
-- ARGV[1] now (unix ms)   ARGV[2] result ttl (ms; 0 keeps the job hash forever)
-- ARGV[3 + 3*(i-1) ...] job i: id, fencing token, result bytes
-- Derived: KEYS[1+i]..':done', the job's shard channel, published to only when a client
--          waits on the job (notify = '1', set by watch.lua).
-- Returns: one integer per job: 1 completed, 0 lease lost (stale token or not active).
-- Guarantee: only the holder of the current lease completes a job; a worker whose lease was
--          recovered (and maybe re-granted) changes nothing. The result is written in the
--          same atomic step as the state, so a reader never sees "completed" without it.
-- Complexity: per job one HMGET, one HSET and one PEXPIRE; one ZREM per 1000 jobs.
local leases = KEYS[1]
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local out = {}
local released = {}  -- ids whose lease ends here: one ZREM for the whole batch
for i = 1, #KEYS - 1 do
  local job = KEYS[1 + i]
  local b = 3 + 3 * (i - 1)
  local f = redis.call('HMGET', job, 'state', 'token', 'notify')
  if f[1] == 'active' and f[2] == ARGV[b + 1] then
    released[#released + 1] = ARGV[b]
    redis.call('HSET', job, 'state', 'completed', 'result', ARGV[b + 2], 'finished', now,
               'updated', now)
    if ttl > 0 then redis.call('PEXPIRE', job, ttl) end
    if f[3] == '1' then redis.call('SPUBLISH', job .. ':done', 'completed') end
    out[i] = 1
  else
    out[i] = 0
  end
end
for i = 1, #released, 1000 do
  redis.call('ZREM', leases, unpack(released, i, math.min(i + 999, #released)))
end
return out
