#!lua
-- extend_lease.lua: renew the leases a worker holds (its heartbeat), checking each token.
-- KEYS[1]   <p>:{q}:leases        zset id -> lease deadline (unix ms)
-- KEYS[2..] <p>:{q}:job:<id>      the job hashes, in the order of the ARGV pairs
-- ARGV[1] now (unix ms)   ARGV[2] lease length (ms)
-- ARGV[3*i], ARGV[3*i + 1], ARGV[3*i + 2]: job i's id, fencing token, and '1' once the
--         worker has started it ('0' while it waits in the run queue)
-- Returns: one integer per job: 1 renewed, 2 renewed and cancellation requested,
--          0 lost (the job is no longer active under this token: recovered, or finished).
-- Guarantee: a lease is renewed only for the holder of the current token while the job is
--          active; a lost lease is never revived for a stale holder. A started job's
--          tentative mark (`unstarted`, lease.lua) is cleared: from here on its run counts.
-- Complexity: per job one HMGET and one ZADD (+ one HDEL the first time a tentative job is
--          reported started).
local leases = KEYS[1]
local now = tonumber(ARGV[1])
local deadline = now + tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS - 1 do
  local id = ARGV[3 * i]
  local token = ARGV[3 * i + 1]
  local f = redis.call('HMGET', KEYS[1 + i], 'state', 'token', 'cancel', 'unstarted')
  if f[1] == 'active' and f[2] == token then
    redis.call('ZADD', leases, 'XX', deadline, id)
    if f[4] and ARGV[3 * i + 2] == '1' then redis.call('HDEL', KEYS[1 + i], 'unstarted') end
    if f[3] == '1' then out[i] = 2 else out[i] = 1 end
  else
    out[i] = 0
  end
end
return out
