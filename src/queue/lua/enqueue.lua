#!lua
-- enqueue.lua: store a batch of new jobs and make each pending or scheduled, all or nothing.
-- KEYS[1] <p>:{q}:pending:high    list of ids, newest at the head
-- KEYS[2] <p>:{q}:pending:normal
-- KEYS[3] <p>:{q}:pending:low
-- KEYS[4] <p>:{q}:scheduled       zset id -> run_at (unix ms)
-- KEYS[5] <p>:{q}:marker          list of wake-up tokens idle workers block on
-- KEYS[6] <p>:{q}:timer           list of wake-up tokens schedulers block on
-- KEYS[7] <p>:{q}:jobs            hash id -> record (record.h)
-- KEYS[8] <p>:{q}:unique:         prefix of unique-key holders
-- KEYS[9] <p>:{q}:paused          exists while the queue is paused
-- KEYS[10] <p>:{q}:leases         zset id -> lease deadline (unix ms)
-- KEYS[11] <p>:{q}:idle           zset "<lease ms> <worker id>" -> registration expiry (ms)
-- KEYS[12] <p>:{q}:inbox:         prefix of idle workers' inboxes
-- KEYS[13] <p>:{q}:seq            fencing token counter
-- KEYS[14] <p>:{q}:stale          hash priority -> tombstones in that pending list
-- KEYS[15] <p>:{q}:buckets        zset done-hash key -> expiry: where finished jobs are
-- KEYS[16] <p>:{q}:tokens         hash id -> fencing token of its lease
-- Derived: KEYS[8]..unique_key, KEYS[12]..worker (inbox), the done hashes named in KEYS[15]:
--          all carry {q}, so the same slot.
-- ARGV[1] now (unix ms, the caller's clock so tests can pin it)
-- ARGV[2] n, the number of jobs
-- ARGV[3] default unique ttl (ms), used when a job gives a unique key without a ttl
-- ARGV[4] '1' when this batch is sent again after a lost reply: ids are also looked for
--         among finished jobs (a job may have run and ended in between), else '0'
-- ARGV[5 + 6*i ...] job i: id, priority letter (h|n|l), run_at (unix ms, 0 = now),
--          unique_key ('' = none), unique_ttl_ms, record (record.h, built by the caller)
-- Returns: {id_1, dup_1, id_2, dup_2, ...}: dup = 1 when id is an earlier job's (same unique
--          key while it is held, or the same id sent again after a lost reply), else 0.
-- Errors:  "BANANAS enqueue: ..." for a malformed argument, raised before any write.
-- Hand-off: for each idle worker registered by dequeue.lua (unexpired), the oldest pending
--          job of the highest priority is leased here, exactly as dequeue.lua would
--          (lease.lua), and pushed to that worker's inbox, which it blocks on: it starts the
--          job without a dequeue round trip. Not while the queue is paused. A registration
--          serves one job. Like every lease it is tentative until the worker reports the job
--          started, so a frozen or dead worker's job comes back uncharged.
-- Guarantee: all or nothing. Every argument is checked before the first write, and the
--          shebang (no allow-oom flag) makes Redis refuse the whole script when it is out of
--          memory instead of failing half-way. Re-sending a batch with the same ids is
--          idempotent, so a client may retry after a lost reply.
-- Complexity: per call, without unique keys: one HMGET (or one HSETNX for a single job), one
--          HSET of every record, one LPUSH per priority present, one ZADD for the scheduled
--          ones, one LLEN of the markers (+ one LPUSH of tokens, or the hand-off: a
--          ZRANGEBYSCORE, and per job handed an RPOP, HGET, ZADD, HSET, LPUSH and PEXPIRE).
--          Per job with a unique key one GET and one SET (+ an HEXISTS when the key is held).
--          The records are stored as given: nothing is decoded.
-- #include lease.lua
local pending = {h = KEYS[1], n = KEYS[2], l = KEYS[3]}
local scheduled, marker, timer, jobs = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local unique_prefix, paused, leases, idle = KEYS[8], KEYS[9], KEYS[10], KEYS[11]
local inbox_prefix, seq, stale, buckets = KEYS[12], KEYS[13], KEYS[14], KEYS[15]
local tokens = KEYS[16]

local names = {h = 'high', n = 'normal', l = 'low'}  -- the fields of `stale`
local STRIDE = 6
local MAX_DROPPED = 100  -- tombstones one hand-off may drop before it gives up
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local default_unique_ttl = tonumber(ARGV[3])
local resend = ARGV[4] == '1'
if not now or not n or not default_unique_ttl or #ARGV ~= 4 + n * STRIDE then
  return redis.error_reply('BANANAS enqueue: expected 4 + 6*n arguments')
end

-- Pass 1: check everything, write nothing.
local earliest = nil
local uniques = false
for i = 0, n - 1 do
  local b = 5 + i * STRIDE
  local where = 'BANANAS enqueue: job ' .. (i + 1) .. ': '
  if ARGV[b] == '' then return redis.error_reply(where .. 'empty id') end
  if pending[ARGV[b + 1]] == nil then return redis.error_reply(where .. 'bad priority') end
  local run_at = tonumber(ARGV[b + 2])
  if not run_at then return redis.error_reply(where .. 'bad run_at') end
  if not tonumber(ARGV[b + 4]) then return redis.error_reply(where .. 'bad unique_ttl_ms') end
  if ARGV[b + 5] == '' then return redis.error_reply(where .. 'empty record') end
  if run_at > now and (earliest == nil or run_at < earliest) then earliest = run_at end
  if ARGV[b + 3] ~= '' then uniques = true end
end

-- Finished jobs (completed, cancelled) are in the done hashes, not in `jobs`: looked for only
-- when the caller resends, or to tell whether a unique key's holder still exists.
local function finished(id)
  for _, key in ipairs(redis.call('ZRANGE', buckets, 0, -1)) do
    if redis.call('HEXISTS', key, id) == 1 then return true end
  end
  return false
end

-- Duplicates: ids already stored (a resent batch), then unique keys.
local known = {}  -- position -> the earlier job's id
if n == 1 and not uniques and not resend and tonumber(ARGV[7]) <= now then
  -- The common single submit: check and store in one call.
  local id, rec = ARGV[5], ARGV[10]
  if redis.call('HSETNX', jobs, id, rec) == 0 then return {id, 1} end
  known = nil
else
  local ids = {}
  for i = 0, n - 1 do ids[i + 1] = ARGV[5 + i * STRIDE] end
  for from = 1, n, 1000 do  -- unpack has a stack limit
    local to = math.min(from + 999, n)
    local stored = redis.call('HMGET', jobs, unpack(ids, from, to))
    for i = from, to do
      if stored[i - from + 1] or (resend and finished(ids[i])) then known[i] = ids[i] end
    end
  end
end

local wake_scheduler = false
if earliest then
  local head = redis.call('ZRANGE', scheduled, 0, 0, 'WITHSCORES')
  wake_scheduler = (#head == 0) or (earliest < tonumber(head[2]))
end

-- Pass 2: write.
local out = {}
local records = {}  -- id, record, ... for one HSET
local pushes = {h = {}, n = {}, l = {}}
local later = {}    -- run_at, id, ... for one ZADD
local pushed = 0
local holders = {}  -- unique key -> id, for duplicates inside this batch
for i = 0, n - 1 do
  local b = 5 + i * STRIDE
  local id = ARGV[b]
  local unique = ARGV[b + 3]
  local duplicate_of = known and known[i + 1]
  if not duplicate_of and unique ~= '' then
    local holder = holders[unique]
    if not holder then
      holder = redis.call('GET', unique_prefix .. unique)
      -- A holder whose job no longer exists (expired, purged) does not block the key.
      if holder and redis.call('HEXISTS', jobs, holder) == 0 and not finished(holder) then
        holder = nil
      end
    end
    duplicate_of = holder or nil
  end
  if duplicate_of then
    out[#out + 1] = duplicate_of
    out[#out + 1] = 1
  else
    if unique ~= '' then
      local ttl = tonumber(ARGV[b + 4])
      if ttl <= 0 then ttl = default_unique_ttl end
      redis.call('SET', unique_prefix .. unique, id, 'PX', ttl)
      holders[unique] = id
    end
    records[#records + 1] = id
    records[#records + 1] = ARGV[b + 5]
    local run_at = tonumber(ARGV[b + 2])
    if run_at > now then
      later[#later + 1] = run_at
      later[#later + 1] = id
    else
      local list = pushes[ARGV[b + 1]]
      list[#list + 1] = id
      pushed = pushed + 1
    end
    out[#out + 1] = id
    out[#out + 1] = 0
  end
end
-- unpack has a stack limit: write in chunks.
if known then
  for i = 1, #records, 2000 do
    redis.call('HSET', jobs, unpack(records, i, math.min(i + 1999, #records)))
  end
end
for _, p in ipairs({'h', 'n', 'l'}) do
  local list = pushes[p]
  for i = 1, #list, 1000 do
    redis.call('LPUSH', pending[p], unpack(list, i, math.min(i + 999, #list)))
  end
end
for i = 1, #later, 2000 do
  redis.call('ZADD', scheduled, unpack(later, i, math.min(i + 1999, #later)))
end

-- Hand new work to idle workers, oldest job of the highest priority first (strict order:
-- the same job a dequeue would take). Only when no wake-up token is stored: a stored token
-- means no worker is waiting (a waiting one would have taken it), so the registrations are
-- not even read while every worker is busy or none runs. Tokens stay the safe path: a
-- registered worker that finds one dequeues as before.
if pushed > 0 then
  local stored = redis.call('LLEN', marker)
  if stored == 0 then
    local waiting = redis.call('ZRANGEBYSCORE', idle, now, '+inf', 'LIMIT', 0, pushed)
    if #waiting > 0 and redis.call('EXISTS', paused) == 0 then
      local token = redis.call('INCR', seq)
      for _, registration in ipairs(waiting) do
        local lease_ms, worker = string.match(registration, '^(%d+) (.+)$')
        redis.call('ZREM', idle, registration)
        if lease_ms then
          local id, rec = nil, nil
          for _, p in ipairs({'h', 'n', 'l'}) do
            -- An id without a record is a tombstone (a cancelled job's): drop it, uncount it.
            -- At most MAX_DROPPED here: past that the worker's own dequeue goes on.
            local dropped = 0
            repeat
              id = redis.call('RPOP', pending[p])
              if id then
                rec = redis.call('HGET', jobs, id)
                if not rec then dropped = dropped + 1 end
              end
            until rec or not id or dropped >= MAX_DROPPED
            if dropped > 0 and redis.call('HINCRBY', stale, names[p], -dropped) <= 0 then
              redis.call('HDEL', stale, names[p])
            end
            if rec or dropped >= MAX_DROPPED then break end
          end
          if rec then
            redis.call('ZADD', leases, now + tonumber(lease_ms), id)
            redis.call('HSET', tokens, id, token)
            local inbox = inbox_prefix .. worker
            redis.call('LPUSH', inbox, encode_handed(id, token, rec))
            -- A crashed worker's inbox goes away; its jobs come back by lease expiry.
            redis.call('PEXPIRE', inbox, tonumber(lease_ms))
            pushed = pushed - 1
          end
        end
      end
    end
  end
  -- Wake idle workers: one token per job left, at most 8 stored, so a burst wakes several
  -- workers while tokens left when nobody waited stay bounded.
  local want = math.min(pushed, 8) - stored
  if want > 0 then
    local wakes = {}
    for k = 1, want do wakes[k] = '1' end
    redis.call('LPUSH', marker, unpack(wakes))
  end
end
-- Wake schedulers only when a due time earlier than every known one appeared.
if wake_scheduler and redis.call('LLEN', timer) == 0 then redis.call('LPUSH', timer, '1') end
return out
