#!lua
-- extend_lease.lua: renew the leases a worker holds (its heartbeat), checking each token.
-- KEYS[1] <p>:{q}:leases     zset "<id>:<token>" -> lease deadline (unix ms)
-- KEYS[2] <p>:{q}:started    set of leases whose holder reported the job started
-- KEYS[3] <p>:{q}:cancel     set of ids whose cancellation was asked
-- ARGV[1] now (unix ms)   ARGV[2] lease length (ms)
-- ARGV[3 + 3*(i-1) ...] job i: id, fencing token, '1' once the worker has started it ('0'
--         while it waits in the run queue)
-- Returns: one integer per job: 1 renewed, 2 renewed and cancellation requested,
--          0 lost (no lease under this token: recovered, or finished).
-- Guarantee: a lease is renewed only for the holder of the current token; a lost lease is
--          never revived for a stale holder. A started job's lease enters `started`: from
--          here on its run counts if the lease expires (recover_expired.lua).
-- Complexity: per call one ZMSCORE, one ZADD XX, one SADD, one EXISTS (+ an SMISMEMBER when
--          a cancellation is pending anywhere in the queue).
-- #include lease.lua
local leases, started, cancel = KEYS[1], KEYS[2], KEYS[3]
local now = tonumber(ARGV[1])
local deadline = now + tonumber(ARGV[2])
local n = (#ARGV - 2) / 3
local members, ids = {}, {}
for i = 1, n do
  local b = 3 + 3 * (i - 1)
  ids[i] = ARGV[b]
  members[i] = lease_member(ARGV[b], ARGV[b + 1])
end
local scores = redis.call('ZMSCORE', leases, unpack(members))
local renew, begun = {}, {}
local out = {}
for i = 1, n do
  if scores[i] then
    renew[#renew + 1] = deadline
    renew[#renew + 1] = members[i]
    if ARGV[3 + 3 * (i - 1) + 2] == '1' then begun[#begun + 1] = members[i] end
    out[i] = 1
  else
    out[i] = 0
  end
end
if #renew > 0 then redis.call('ZADD', leases, 'XX', unpack(renew)) end
if #begun > 0 then redis.call('SADD', started, unpack(begun)) end
if #renew > 0 and redis.call('EXISTS', cancel) == 1 then
  local asked = redis.call('SMISMEMBER', cancel, unpack(ids))
  for i = 1, n do
    if out[i] == 1 and asked[i] == 1 then out[i] = 2 end
  end
end
return out
