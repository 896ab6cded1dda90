#!lua
-- migrate.lua: move a batch of one queue's layout-1 job hashes to layout 2 (`bananas migrate`).
-- KEYS[1] <p>:{q}:jobs             hash id -> record (record.h)
-- KEYS[2] <p>:{q}:pending:high     KEYS[3] <p>:{q}:pending:normal   KEYS[4] <p>:{q}:pending:low
-- KEYS[5] <p>:{q}:leases           zset; layout 1's members are bare ids
-- KEYS[6] <p>:{q}:done:            prefix of the done hashes (declared so the slot is checked)
-- KEYS[7] <p>:{q}:buckets          zset done-hash key -> its expiry (unix ms)
-- KEYS[8] <p>:{q}:job:             prefix of layout 1's job hashes
-- Derived: KEYS[6]..<c|x>:<bucket> (a done hash), KEYS[8]..id (a layout-1 job hash); all
--          carry {q}, so the same slot.
-- ARGV[1] now (unix ms)   ARGV[2] n, the number of jobs
-- ARGV[3 + 7*i ...] job i: id; the layout-1 state the caller read (the move is refused if
--          the hash says otherwise now); the action; the value; the priority name; for
--          'done' the done hash's suffix ("c:<bucket>" / "x:<bucket>") and its expiry (unix ms,
--          later than now; 0 = kept for good)
--          Actions:
--          'keep'    pending, scheduled, retrying, dead: HSET jobs id value (a record); the id
--                    stays in its list or zset, whose names and contents layout 2 keeps
--          'requeue' active: the lease (bare id) leaves leases, HSET jobs id value (a record,
--                    its attempt given back), RPUSH to the tail of its pending list: the
--                    job runs next, uncharged, as release.lua hands back a job
--          'done'    completed or cancelled (or active with cancellation asked): the lease
--                    leaves leases, HDEL jobs id, HSET <done hash> id value (a final record);
--                    PEXPIRE <done hash> (expiry - now) NX, and when that set it, ZADD
--                    buckets (record.lua store_finals' rule, for a bucket of the past)
--          'drop'    completed or cancelled whose result's time to keep has passed: the
--                    lease leaves leases, HDEL jobs id; nothing is stored
--          In every case the layout-1 hash is deleted in the same step.
-- Returns: one entry per job: 1 moved, 0 gone (no layout-1 hash: moved by an earlier run, or
--          expired), -1 changed (its state is no longer the one read: left as it is)
-- Guarantee: per job, all or nothing: the layout-1 hash is deleted in the step that writes
--          the layout-2 record, so a job is in exactly one layout at every moment, and a run
--          interrupted anywhere is completed by running again (idempotent: a job already
--          moved is gone from layout 1 and skipped).
-- Complexity: per job one HGET, one DEL, and one or two writes (three or four for 'done').
local jobs = KEYS[1]
local pending = {high = KEYS[2], normal = KEYS[3], low = KEYS[4]}
local leases, done_prefix, buckets, job_prefix = KEYS[5], KEYS[6], KEYS[7], KEYS[8]

local STRIDE = 7
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
if not now or not n or #ARGV ~= 2 + n * STRIDE then
  return redis.error_reply('BANANAS migrate: expected 2 + 7*n arguments')
end
for i = 0, n - 1 do
  local b = 3 + i * STRIDE
  local action = ARGV[b + 2]
  if action ~= 'keep' and action ~= 'requeue' and action ~= 'done' and action ~= 'drop' then
    return redis.error_reply('BANANAS migrate: job ' .. (i + 1) .. ': bad action')
  end
  if action == 'requeue' and not pending[ARGV[b + 4]] then
    return redis.error_reply('BANANAS migrate: job ' .. (i + 1) .. ': bad priority')
  end
  if action == 'done' and not tonumber(ARGV[b + 6]) then
    return redis.error_reply('BANANAS migrate: job ' .. (i + 1) .. ': bad expiry')
  end
end

local out = {}
for i = 0, n - 1 do
  local b = 3 + i * STRIDE
  local id, state, action, value = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local old = job_prefix .. id
  local now_state = redis.call('HGET', old, 'state')
  if not now_state then
    out[#out + 1] = 0
  elseif now_state ~= state then
    out[#out + 1] = -1
  else
    if action == 'keep' then
      redis.call('HSET', jobs, id, value)
    elseif action == 'requeue' then
      redis.call('ZREM', leases, id)
      redis.call('HSET', jobs, id, value)
      redis.call('RPUSH', pending[ARGV[b + 4]], id)
    else
      redis.call('ZREM', leases, id)
      redis.call('HDEL', jobs, id)
      if action == 'done' then
        local bucket = done_prefix .. ARGV[b + 5]
        local expiry = tonumber(ARGV[b + 6])
        redis.call('HSET', bucket, id, value)
        if expiry == 0 then
          redis.call('ZADD', buckets, 'NX', '+inf', bucket)
        elseif redis.call('PEXPIRE', bucket, expiry - now, 'NX') == 1 then
          redis.call('ZADD', buckets, expiry, bucket)
        end
      end
    end
    redis.call('DEL', old)
    out[#out + 1] = 1
  end
end
return out
