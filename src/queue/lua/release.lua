#!lua
-- release.lua: hand leased jobs back to their queue at shutdown, without counting the run.
-- KEYS[1]   <p>:{q}:leases   zset id -> lease deadline
-- KEYS[2]   <p>:{q}:pending:high   KEYS[3] <p>:{q}:pending:normal   KEYS[4] <p>:{q}:pending:low
-- KEYS[5]   <p>:{q}:marker   worker wake-up tokens
-- KEYS[6..] <p>:{q}:job:<id> the job hashes, in the order of the ARGV pairs
-- ARGV[1] now (unix ms)   ARGV[2] ttl of a job that ends cancelled (ms; 0 = keep)
-- ARGV[3 + 2*(i-1)], ARGV[4 + 2*(i-1)]: job i's id and token
-- Derived: KEYS[5+i]..':done', the job's shard channel (published when a waited-on job ends)
-- Returns: one integer per job: 1 handed back (or ended cancelled), 0 lease already lost.
-- Guarantee: only the current lease holder hands a job back; the job leaves leases and
--          re-enters the tail of its pending list (it runs next) in one step. The interrupted
--          run is not counted: attempts goes back by one, so a graceful shutdown never uses
--          up a job's retries. Its token is unchanged; the state check refuses old writes.
--          A job whose cancellation was requested while it was leased ends cancelled here
--          instead: handing it back would run it.
-- Complexity: per job one HMGET, one ZREM, one HSET, one RPUSH (or a PEXPIRE).
local leases = KEYS[1]
local pending = {high = KEYS[2], normal = KEYS[3], low = KEYS[4]}
local marker = KEYS[5]
local now = tonumber(ARGV[1])
local cancelled_ttl = tonumber(ARGV[2]) or 0
local out = {}
local released = 0
for i = 1, #KEYS - 5 do
  local job = KEYS[5 + i]
  local id = ARGV[1 + 2 * i]
  local token = ARGV[2 + 2 * i]
  local f = redis.call('HMGET', job, 'state', 'token', 'priority', 'attempts', 'cancel', 'notify')
  if f[1] == 'active' and f[2] == token and pending[f[3]] then
    redis.call('ZREM', leases, id)
    local attempts = math.max((tonumber(f[4]) or 1) - 1, 0)
    if f[5] == '1' then
      redis.call('HSET', job, 'state', 'cancelled', 'attempts', attempts,
                 'error', 'cancelled while its worker held it', 'finished', now, 'updated', now)
      if cancelled_ttl > 0 then redis.call('PEXPIRE', job, cancelled_ttl) end
      if f[6] == '1' then redis.call('SPUBLISH', job .. ':done', 'cancelled') end
    else
      redis.call('HSET', job, 'state', 'pending', 'attempts', attempts, 'updated', now)
      redis.call('RPUSH', pending[f[3]], id)
      released = released + 1
    end
    out[i] = 1
  else
    out[i] = 0
  end
end
if released > 0 and redis.call('LLEN', marker) == 0 then redis.call('LPUSH', marker, '1') end
return out
