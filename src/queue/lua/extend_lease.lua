#!lua
-- extend_lease.lua: renew the leases a worker holds (its heartbeat), checking each token.
-- KEYS[1] <p>:{q}:leases     zset id -> lease deadline (unix ms)
-- KEYS[2] <p>:{q}:tokens     hash id -> fencing token of its lease ('s' appended once started)
-- KEYS[3] <p>:{q}:cancel     set of ids whose cancellation was asked
-- ARGV[1] now (unix ms)   ARGV[2] lease length (ms)
-- ARGV[3 + 3*(i-1) ...] job i: id, fencing token, '1' once the worker has started it ('0'
--         while it waits in the run queue)
-- Returns: one integer per job: 1 renewed, 2 renewed and cancellation requested,
--          0 lost (no lease under this token: recovered, or finished).
-- Guarantee: a lease is renewed only for the holder of the current token; a lost lease is
--          never revived for a stale holder. A started job's token is marked started ('s'):
--          from here on its run counts if the lease expires (recover_expired.lua).
-- Complexity: per call one HMGET, one ZADD XX, one HSET of the newly started, one EXISTS
--          (+ an SMISMEMBER when a cancellation is pending anywhere in the queue).
-- #include lease.lua
local leases, tokens, cancel = KEYS[1], KEYS[2], KEYS[3]
local now = tonumber(ARGV[1])
local deadline = now + tonumber(ARGV[2])
local n = (#ARGV - 2) / 3
local ids = {}
for i = 1, n do ids[i] = ARGV[3 * i] end
local stored = redis.call('HMGET', tokens, unpack(ids))
local renew, begun = {}, {}
local out = {}
for i = 1, n do
  local token = ARGV[3 * i + 1]
  if holds(stored[i], token) then
    renew[#renew + 1] = deadline
    renew[#renew + 1] = ids[i]
    if ARGV[3 * i + 2] == '1' and stored[i] == token then
      begun[#begun + 1] = ids[i]
      begun[#begun + 1] = token .. 's'
    end
    out[i] = 1
  else
    out[i] = 0
  end
end
if #renew > 0 then redis.call('ZADD', leases, 'XX', unpack(renew)) end
if #begun > 0 then redis.call('HSET', tokens, unpack(begun)) end
if #renew > 0 and redis.call('EXISTS', cancel) == 1 then
  local asked = redis.call('SMISMEMBER', cancel, unpack(ids))
  for i = 1, n do
    if out[i] == 1 and asked[i] == 1 then out[i] = 2 end
  end
end
return out
