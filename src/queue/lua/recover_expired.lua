#!lua
-- recover_expired.lua: hand back jobs whose lease ran out (their worker died or stalled).
-- KEYS[1] <p>:{q}:leases   zset id -> lease deadline (unix ms)
-- KEYS[2] <p>:{q}:pending:high   KEYS[3] <p>:{q}:pending:normal   KEYS[4] <p>:{q}:pending:low
-- KEYS[5] <p>:{q}:dead     the DLQ
-- KEYS[6] <p>:{q}:marker   worker wake-up tokens
-- KEYS[7] <p>:{q}:jobs     hash id -> record
-- KEYS[8] <p>:{q}:tokens   hash id -> fencing token of its lease ('s' appended once started)
-- KEYS[9] <p>:{q}:cancel   set of ids whose cancellation was asked
-- KEYS[10] <p>:{q}:notify  set of ids a client waits on
-- KEYS[11] <p>:{q}:ended:  prefix of the shard channels a watched job's end is published on
-- KEYS[12] <p>:{q}:done:   prefix of the done buckets    KEYS[13] <p>:{q}:buckets
-- ARGV[1] now (unix ms)   ARGV[2] the most leases to recover in this call
-- ARGV[3] max recoveries: a job recovered more often than this is a poison pill -> DLQ
-- ARGV[4] how many entries of error history to keep
-- ARGV[5] ttl of a cancelled job (ms; 0 = keep)   (RESULT_TTL_FAILURE)
-- Returns: {recovered, dead}: jobs handed back to pending (or ended cancelled, below), and
--          jobs sent to the DLQ.
-- Guarantee: each expired lease is recovered exactly once, however many recoverers run: the
--          lease leaves the zset in the same atomic step that requeues the job. The old
--          holder's ack, fail or heartbeat is then refused (its token leaves `tokens`); the
--          next lease gets a new token. A tentative lease (its token not marked 's': the
--          holder never reported the job started) of a job that has not had its one
--          uncharged loss (`lost` 0 in the record) goes back to pending uncharged: no attempt,
--          no recovery, and `lost` = 1, so its next leases are charged. Otherwise the run is
--          charged (attempts + 1, recoveries + 1, the loss in the error history); a job that
--          has used its last attempt, or keeps killing workers (recoveries > ARGV[3]), goes to
--          the DLQ with the reason. A job whose cancellation was asked ends cancelled instead
--          of going back (handing it back would run it).
-- Complexity: O(recovered * log n): one ZRANGEBYSCORE, ZREM, HMGET x2, HDEL and SMISMEMBER
--          for the batch, then per job an HSET and an RPUSH or ZADD (cjson of its history
--          when charged).
-- #include record.lua
local leases = KEYS[1]
local pending = {h = KEYS[2], n = KEYS[3], l = KEYS[4]}
local dead, marker, jobs, tokens, cancel, notify = KEYS[5], KEYS[6], KEYS[7], KEYS[8],
                                                   KEYS[9], KEYS[10]
local ended, done_prefix, buckets = KEYS[11], KEYS[12], KEYS[13]
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local max_recoveries = tonumber(ARGV[3])
local history_cap = tonumber(ARGV[4])
local cancelled_ttl = tonumber(ARGV[5]) or 0

local ids = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, limit)
if #ids == 0 then return {0, 0} end
redis.call('ZREM', leases, unpack(ids))
local held = redis.call('HMGET', tokens, unpack(ids))
redis.call('HDEL', tokens, unpack(ids))
local was_started = {}
for i = 1, #ids do was_started[i] = held[i] and string.sub(held[i], -1) == 's' end
local recs = redis.call('HMGET', jobs, unpack(ids))
local asked = redis.call('SMISMEMBER', cancel, unpack(ids))

local function published(id, state)
  if redis.call('SREM', notify, id) == 1 then redis.call('SPUBLISH', ended .. id, state) end
end

local recovered, died = 0, 0
for i, id in ipairs(ids) do
  local r = parse_record(recs[i])
  if r and pending[r.pri] then
    if asked[i] == 1 then
      -- Cancellation was asked while it was leased: it ends cancelled (its run charged
      -- if it had started).
      if was_started[i] then r.attempts = r.attempts + 1 end
      redis.call('SREM', cancel, id)
      redis.call('HDEL', jobs, id)
      store_final(done_prefix, buckets, 'x', now, cancelled_ttl, id,
                  cancelled_record(build_record(r), now))
      published(id, 'cancelled')
      recovered = recovered + 1
    elseif not was_started[i] and r.lost == '0' then
      -- Never reported started: not a run, not a poison pill. Back to the tail (runs next).
      r.lost = '1'
      redis.call('HSET', jobs, id, build_record(r))
      redis.call('RPUSH', pending[r.pri], id)
      recovered = recovered + 1
    else
      r.attempts = r.attempts + 1
      r.recoveries = r.recoveries + 1
      local message = 'lease expired: worker lost during attempt ' .. r.attempts
      if r.recoveries > max_recoveries then
        message = message .. ' (recovered ' .. r.recoveries .. ' times: poison pill)'
      end
      append_error(r, r.attempts, now, message, history_cap)
      redis.call('HSET', jobs, id, build_record(r))
      if r.recoveries > max_recoveries or r.attempts > r.max_retries then
        redis.call('ZADD', dead, now, id)
        published(id, 'failed')
        died = died + 1
      else
        redis.call('RPUSH', pending[r.pri], id)
        recovered = recovered + 1
      end
    end
  end
end
if recovered > 0 and redis.call('LLEN', marker) == 0 then
  redis.call('LPUSH', marker, '1')
end
return {recovered, died}
