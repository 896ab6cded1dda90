#!lua
-- enqueue.lua: store a batch of new jobs and make each pending or scheduled, all or nothing.
-- KEYS[1] <p>:{q}:pending:high    list of ids, newest at the head
-- KEYS[2] <p>:{q}:pending:normal
-- KEYS[3] <p>:{q}:pending:low
-- KEYS[4] <p>:{q}:scheduled       zset id -> run_at (unix ms)
-- KEYS[5] <p>:{q}:marker          list of wake-up tokens idle workers block on
-- KEYS[6] <p>:{q}:timer           list of wake-up tokens schedulers block on
-- KEYS[7] <p>:{q}:job:            prefix of job hashes (declared so the slot is checked)
-- KEYS[8] <p>:{q}:unique:         prefix of unique-key holders
-- KEYS[9] <p>:{q}:paused          exists while the queue is paused
-- KEYS[10] <p>:{q}:leases         zset id -> lease deadline (unix ms)
-- KEYS[11] <p>:{q}:idle           zset "<lease ms> <worker id>" -> registration expiry (ms)
-- KEYS[12] <p>:{q}:inbox:         prefix of idle workers' inboxes
-- Derived: KEYS[7]..id (job hash), KEYS[8]..unique_key, KEYS[12]..worker (inbox); all carry
--          {q}, so the same slot.
-- ARGV[1] now (unix ms, the caller's clock so tests can pin it)
-- ARGV[2] n, the number of jobs
-- ARGV[3] default unique ttl (ms), used when a job gives a unique key without a ttl
-- ARGV[4 + 10*i ...] job i: id, name, payload, priority (high|normal|low), max_retries,
--          timeout_ms, run_at (unix ms, 0 = now), unique_key ('' = none), unique_ttl_ms,
--          description
-- Returns: {id_1, dup_1, id_2, dup_2, ...}: dup = 1 when id is an earlier job's (same unique
--          key while it is held, or the same id sent again after a lost reply), else 0.
-- Errors:  "BANANAS enqueue: ..." for a malformed argument, raised before any write.
-- Hand-off: for each idle worker registered by dequeue.lua (unexpired), the oldest pending
--          job of the highest priority is leased here, exactly as dequeue.lua would (lease.lua),
--          and pushed to that worker's inbox, which it blocks on: it starts the job without a
--          dequeue round trip. Not while the queue is paused. A registration serves one job.
--          The lease is tentative (lease.lua): the worker may be frozen or gone, so the job
--          is not charged for this lease unless the worker's heartbeat says it started.
-- Guarantee: all or nothing. Every argument is checked before the first write, and the
--          shebang (no allow-oom flag) makes Redis refuse the whole script when it is out of
--          memory instead of failing half-way. Re-sending a batch with the same ids is
--          idempotent, so a client may retry after a lost reply.
-- Complexity: O(n); per job one EXISTS, one HSET and one LPUSH or ZADD (+ GET/SET with a
--          unique key); per batch one LLEN+LPUSH of markers (and a ZRANGEBYSCORE of idle
--          workers when no token is stored) and at most one timer check; per job handed off the lease's HMGET, HSET, ZADD, and
--          an LPUSH and PEXPIRE of the inbox.
-- lease.lua: not a script. embed_lua.cmake pastes it where dequeue.lua and enqueue.lua say
-- "-- #include lease.lua", so that a job is leased the same way by a worker's dequeue and by
-- an enqueue that hands it straight to an idle worker.
--
-- lease_job(job_key, id, priority, now, tentative): the job leased with a new fencing token
-- (its `token` field + 1) and counted as a new attempt; nil when the hash is missing or the
-- job is not pending (a tombstone: cancel.lua leaves a cancelled job's id in its list).
-- `tentative`: the holder may not start the job at once (handed to an idle worker's inbox,
-- or prefetched beyond its free executors). The lease is then marked `unstarted` = token
-- until the holder's heartbeat (extend_lease.lua) says the job started; if the lease
-- expires still marked, recover_expired.lua hands the job back without charging the attempt
-- or the recovery, and sets `lost`. A job with `lost` set is never leased tentatively again,
-- so a job that kills its worker before the start is recorded is charged from its next
-- lease on (at most one uncharged loss per job).
-- Returns the fields a worker needs, in this order:
--   {id, token, attempts, max_retries, timeout_ms, name, payload, priority, created,
--    recoveries, run_at}
-- The caller adds the id to the lease set (deadline) in the same script.
local function lease_job(job_key, id, priority, now, tentative)
  local f = redis.call('HMGET', job_key, 'name', 'payload', 'attempts', 'max_retries',
                       'timeout_ms', 'created', 'recoveries', 'token', 'run_at', 'state', 'lost')
  if f[10] ~= 'pending' then return nil end
  local attempts = (tonumber(f[3]) or 0) + 1
  local token = (tonumber(f[8]) or 0) + 1
  if tentative and not f[11] then
    redis.call('HSET', job_key, 'state', 'active', 'attempts', attempts, 'token', token,
               'started', now, 'updated', now, 'unstarted', token)
  else
    redis.call('HSET', job_key, 'state', 'active', 'attempts', attempts, 'token', token,
               'started', now, 'updated', now)
  end
  -- Stored fields go back as the strings they are ('' when absent): no number conversion
  -- per field (broker.cc reads integers from either).
  return {id, token, attempts, f[4] or '', f[5] or '', f[1], f[2], priority, f[6] or '',
          f[7] or '', f[9] or ''}
end

-- A leased job as one string for an idle worker's inbox list: every field as
-- <length>:<bytes>, in lease_job's order (broker.cc DecodeHandedJob reads it).
local function encode_leased(job)
  local parts = {}
  for i = 1, #job do
    local s = tostring(job[i])
    parts[i] = #s .. ':' .. s
  end
  return table.concat(parts)
end
local pending = {high = KEYS[1], normal = KEYS[2], low = KEYS[3]}
local scheduled = KEYS[4]
local marker = KEYS[5]
local timer = KEYS[6]
local job_prefix = KEYS[7]
local unique_prefix = KEYS[8]
local paused = KEYS[9]
local leases = KEYS[10]
local idle = KEYS[11]
local inbox_prefix = KEYS[12]

local STRIDE = 10
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local default_unique_ttl = tonumber(ARGV[3])
if not now or not n or not default_unique_ttl or #ARGV ~= 3 + n * STRIDE then
  return redis.error_reply('BANANAS enqueue: expected 3 + 10*n arguments')
end

-- Pass 1: check everything, write nothing.
local earliest = nil
for i = 0, n - 1 do
  local b = 4 + i * STRIDE
  local where = 'BANANAS enqueue: job ' .. (i + 1) .. ': '
  if ARGV[b] == '' then return redis.error_reply(where .. 'empty id') end
  if ARGV[b + 1] == '' then return redis.error_reply(where .. 'empty name') end
  if pending[ARGV[b + 3]] == nil then return redis.error_reply(where .. 'bad priority') end
  if not tonumber(ARGV[b + 4]) then return redis.error_reply(where .. 'bad max_retries') end
  if not tonumber(ARGV[b + 5]) then return redis.error_reply(where .. 'bad timeout_ms') end
  local run_at = tonumber(ARGV[b + 6])
  if not run_at then return redis.error_reply(where .. 'bad run_at') end
  if not tonumber(ARGV[b + 8]) then return redis.error_reply(where .. 'bad unique_ttl_ms') end
  if run_at > now and (earliest == nil or run_at < earliest) then earliest = run_at end
end

local wake_scheduler = false
if earliest then
  local head = redis.call('ZRANGE', scheduled, 0, 0, 'WITHSCORES')
  wake_scheduler = (#head == 0) or (earliest < tonumber(head[2]))
end

-- Pass 2: write.
local out = {}
local pushed = 0
local holders = {}  -- unique key -> id, for duplicates inside this batch
for i = 0, n - 1 do
  local b = 4 + i * STRIDE
  local id = ARGV[b]
  local job = job_prefix .. id
  local unique = ARGV[b + 7]
  local duplicate_of = nil
  if redis.call('EXISTS', job) == 1 then
    duplicate_of = id
  elseif unique ~= '' then
    local holder = holders[unique]
    if not holder then
      holder = redis.call('GET', unique_prefix .. unique)
      -- A holder whose job has expired no longer blocks the key.
      if holder and redis.call('EXISTS', job_prefix .. holder) == 0 then holder = nil end
    end
    duplicate_of = holder or nil
  end
  if duplicate_of then
    out[#out + 1] = duplicate_of
    out[#out + 1] = 1
  else
    local priority = ARGV[b + 3]
    local run_at = tonumber(ARGV[b + 6])
    local state = 'pending'
    if run_at > now then state = 'scheduled' else run_at = now end
    local fields = {'name', ARGV[b + 1], 'payload', ARGV[b + 2], 'priority', priority,
                    'state', state, 'max_retries', ARGV[b + 4], 'attempts', 0, 'token', 0,
                    'created', now, 'updated', now, 'run_at', run_at}
    if ARGV[b + 5] ~= '0' then
      fields[#fields + 1] = 'timeout_ms'; fields[#fields + 1] = ARGV[b + 5]
    end
    if ARGV[b + 9] ~= '' then
      fields[#fields + 1] = 'description'; fields[#fields + 1] = ARGV[b + 9]
    end
    if unique ~= '' then
      fields[#fields + 1] = 'unique'; fields[#fields + 1] = unique
      local ttl = tonumber(ARGV[b + 8])
      if ttl <= 0 then ttl = default_unique_ttl end
      redis.call('SET', unique_prefix .. unique, id, 'PX', ttl)
      holders[unique] = id
    end
    redis.call('HSET', job, unpack(fields))
    if state == 'scheduled' then
      redis.call('ZADD', scheduled, run_at, id)
    else
      redis.call('LPUSH', pending[priority], id)
      pushed = pushed + 1
    end
    out[#out + 1] = id
    out[#out + 1] = 0
  end
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
      local order = {'high', 'normal', 'low'}
      for _, registration in ipairs(waiting) do
        local lease_ms, worker = string.match(registration, '^(%d+) (.+)$')
        redis.call('ZREM', idle, registration)
        if lease_ms then
          local job = nil
          for _, priority in ipairs(order) do
            local id = redis.call('RPOP', pending[priority])
            if id then
              job = lease_job(job_prefix .. id, id, priority, now, true)
              break
            end
          end
          if job then
            redis.call('ZADD', leases, now + tonumber(lease_ms), job[1])
            local inbox = inbox_prefix .. worker
            redis.call('LPUSH', inbox, encode_leased(job))
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
    local tokens = {}
    for k = 1, want do tokens[k] = '1' end
    redis.call('LPUSH', marker, unpack(tokens))
  end
end
-- Wake schedulers only when a due time earlier than every known one appeared.
if wake_scheduler and redis.call('LLEN', timer) == 0 then redis.call('LPUSH', timer, '1') end
return out
