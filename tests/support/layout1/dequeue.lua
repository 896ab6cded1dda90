#!lua
-- dequeue.lua: lease up to N of the oldest jobs, highest non-empty priority first; jobs
-- handed to this worker's inbox while it was idle come first.
-- KEYS[1] <p>:{q}:paused          exists while the queue is paused
-- KEYS[2] <p>:{q}:pending:high    list of ids, oldest at the tail
-- KEYS[3] <p>:{q}:pending:normal
-- KEYS[4] <p>:{q}:pending:low
-- KEYS[5] <p>:{q}:leases          zset id -> lease deadline (unix ms)
-- KEYS[6] <p>:{q}:job:            prefix of job hashes
-- KEYS[7] <p>:{q}:idle            zset "<lease ms> <worker id>" -> registration expiry (ms)
-- KEYS[8] <p>:{q}:inbox:          prefix of idle workers' inboxes
-- KEYS[9] <p>:{q}:stale           hash priority -> tombstones in that pending list
-- KEYS[10] <p>:{q}:scan           hash filter -> where its next middle window starts (given
--                                 with a type filter only: one key less on the hot path)
-- Derived: KEYS[6]..id, the job hash; KEYS[8]..worker, the inbox: same {q} tag, same slot.
-- ARGV[1] now (unix ms)   ARGV[2] lease length (ms)   ARGV[3] N, the most jobs to take
-- ARGV[4] W, the scan window: with a type filter, how many ids each of its three windows
--         looks at per priority (below)
-- ARGV[5] priorities this worker serves, as letters: 'hnl' all, 'h' only high, 'nl' ...
-- ARGV[6] worker id for hand-off ('' = none: a worker with a filter never registers)
-- ARGV[7] '1' if this worker may be registered idle: take back the registration and empty
--         the inbox first; '2' the same for a worker that is leaving (N = 0): never registers
-- ARGV[8] how long an idle registration lasts (ms): a little over the worker's BLPOP timeout,
--         so a crashed worker's registration soon stops receiving jobs
-- ARGV[9] how many of the jobs leased here the worker starts at once (its free executors);
--         the rest wait in its run queue (prefetch) and are leased tentatively (lease.lua):
--         not charged if the worker dies before it starts them
-- ARGV[10..] job types this worker serves; none means every type
-- Returns: {} if paused (inbox jobs aside) or nothing matches, else one entry per job: an
--          inbox job as the string enqueue.lua stored (lease.lua encode_leased), a job leased
--          here as an array {id, token, attempts, max_retries, timeout_ms, name, payload,
--          priority, created, recoveries, run_at}; then, when the call stopped after
--          dropping MAX_DROPPED tombstones, the integer 1: call again.
-- Tombstones: a pending list may hold ids whose job is no longer pending (cancel.lua leaves
--          them; so does a filtered lease from the middle of a list, below). They are counted
--          per priority in KEYS[9] (queue depth = LLEN - that count) and dropped, uncounted,
--          when a dequeue reaches them; lease.lua leases only pending jobs. Without a filter,
--          a call that drops MAX_DROPPED of them stops (strict priority: it does not go on to
--          a lower priority), returns what it has with a trailing 1, and registers nothing.
-- Type filter: three windows of W ids per priority, each oldest first: the oldest W (the
--          tail), a middle window that starts where the previous call of the same filter
--          (KEYS[10], per priority and set of types) stopped and wraps around to the tail
--          when it reaches the newest W, and the newest W (the head). The middle window is
--          what keeps a filtered worker live behind any number of jobs it does not serve: a
--          served job is reached within ceil(len / W) calls that come back empty from a fresh
--          cursor, 2 * ceil(len / W) from anywhere, for a list nobody else changes. Leased
--          ids and tombstones met are removed from the two end windows (LSET to REMOVED,
--          then one LREM from the nearer end: O(W)); in the middle window a leased job's id
--          stays in place as a counted tombstone, since removing it would cost O(len).
-- Guarantee: a job is leased only while its state is pending, with a new fencing token (the
--          job's token field, incremented at every lease), its id entering leases in the same
--          atomic step. A higher priority is always emptied first. A job whose type is not in
--          the filter is never taken: it stays where it is, in order; so is a job of a
--          priority the worker does not serve. A worker that leases nothing and serves every
--          type and priority is registered idle in the same step (enqueue.lua then leases new
--          jobs to its inbox); taking back the registration and emptying the inbox are one
--          step too, so a job handed over is never left behind unseen.
-- Complexity: without a filter, per job one HMGET and one HSET; per call one RPOP (with a
--          count) per priority and one ZADD (per 500 jobs), plus ZREM + LRANGE when it may be
--          registered; per tombstone met (at most MAX_DROPPED) an HMGET, and the RPOPs that
--          refill the batch.
--          With a filter, per priority at most 3W HMGETs, three LRANGEs (the middle one
--          O(offset / 128) to reach) and two LREMs of O(W).
-- Note: an id with no job hash (a tombstone whose hash expired, or keys deleted by hand) is
--          dropped like any tombstone.
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
local paused = KEYS[1]
local pending = {KEYS[2], KEYS[3], KEYS[4]}
local priority_names = {'high', 'normal', 'low'}
local leases = KEYS[5]
local job_prefix = KEYS[6]
local idle = KEYS[7]
local inbox_prefix = KEYS[8]
local stale = KEYS[9]

local MAX_DROPPED = 1000  -- tombstones one unfiltered call may drop: ~1000 HMGETs at most

local now = tonumber(ARGV[1])
local deadline = now + tonumber(ARGV[2])
local max_jobs = tonumber(ARGV[3])
local worker = ARGV[6]
local registration = ARGV[2] .. ' ' .. worker

local jobs = {}
local n_jobs = 0  -- the length of jobs, kept by hand (the # operator searches the table)
if worker ~= '' and ARGV[7] ~= '0' then
  redis.call('ZREM', idle, registration)
  local inbox = inbox_prefix .. worker
  local handed = redis.call('LRANGE', inbox, 0, -1)
  if #handed > 0 then
    redis.call('DEL', inbox)
    for i = #handed, 1, -1 do  -- oldest (tail) first
      n_jobs = n_jobs + 1
      jobs[n_jobs] = handed[i]
    end
  end
end

if redis.call('EXISTS', paused) == 1 then return jobs end

local served = ARGV[5]
local filter = nil
if #ARGV >= 10 then
  filter = {}
  for i = 10, #ARGV do filter[ARGV[i]] = true end
end
-- Jobs from the inbox take the first executors.
local start_now = (tonumber(ARGV[9]) or max_jobs) - n_jobs

local leased = {}  -- deadline, id, deadline, id, ...: one ZADD for the whole batch
local n_leased = 0
local function lease(id, p)
  local job = lease_job(job_prefix .. id, id, priority_names[p], now, n_leased / 2 >= start_now)
  if not job then return false end
  leased[n_leased + 1] = deadline
  leased[n_leased + 2] = id
  n_leased = n_leased + 2
  n_jobs = n_jobs + 1
  jobs[n_jobs] = job
  return true
end

-- Type filter only (defined here so that the unfiltered path does not pay for it).
local W, scan, filter_id, scan_window, uncount, delta
if filter then
  W = tonumber(ARGV[4])
  scan = KEYS[10]
  local types = {}
  for i = 10, #ARGV do types[#types + 1] = ARGV[i] end
  table.sort(types)
  filter_id = redis.sha1hex(table.concat(types, '\n'))
  local REMOVED = ''  -- marks an entry for LREM; never a job id (enqueue.lua refuses '')
  uncount = function(p, n)  -- n tombstones more (n > 0) or fewer in pending[p]
    local left = redis.call('HINCRBY', stale, priority_names[p], n)
    if left <= 0 then redis.call('HDEL', stale, priority_names[p]) end
  end
  -- Looks at the ids of pending[p] at offsets [from, to) from the tail (0 = the oldest),
  -- oldest first, until the batch is full, and leases the served pending ones. With
  -- `remove`, a leased job's entry and every tombstone met are overwritten with REMOVED and
  -- deleted by one LREM from `remove`'s end (-1 the tail, 1 the head): O(W); without, they
  -- stay (the leased one as a new tombstone). Adds the change of the tombstone count to
  -- `delta`; returns how many entries were deleted and the offset after the last one
  -- looked at.
  scan_window = function(p, from, to, remove)
    if from >= to or n_jobs >= max_jobs then return 0, from end
    local list = pending[p]
    local ids = redis.call('LRANGE', list, -to, -from - 1)  -- index -(k + 1) is offset k
    local marked, offset = 0, from
    for i = #ids, 1, -1 do
      if n_jobs >= max_jobs then break end
      local id = ids[i]
      local f = redis.call('HMGET', job_prefix .. id, 'name', 'state')
      local take = f[2] == 'pending' and filter[f[1]]
      if take then lease(id, p) end  -- cannot fail: the job is pending
      if remove and (take or f[2] ~= 'pending') then
        redis.call('LSET', list, -offset - 1, REMOVED)
        marked = marked + 1
        if not take then delta = delta - 1 end
      elseif take then
        delta = delta + 1
      end
      offset = offset + 1
    end
    if marked > 0 then redis.call('LREM', list, remove * marked, REMOVED) end
    return marked, offset
  end
end

local more = false  -- stopped on MAX_DROPPED: the list may hold more jobs
local letters = {'h', 'n', 'l'}
for p = 1, 3 do
  if n_jobs >= max_jobs then break end
  if not string.find(served, letters[p], 1, true) then
    -- not served by this worker: skip, and never take from it
  elseif filter == nil then
    local dropped = 0
    repeat
      local want = max_jobs - n_jobs
      local ids = redis.call('RPOP', pending[p], want)
      if not ids then break end
      local popped = #ids
      for i = 1, popped do
        if not lease(ids[i], p) then dropped = dropped + 1 end
      end
      if popped < want then break end  -- the list is empty now
      more = dropped >= MAX_DROPPED and n_jobs < max_jobs
    until n_jobs >= max_jobs or more
    if dropped > 0 and redis.call('HINCRBY', stale, priority_names[p], -dropped) <= 0 then
      redis.call('HDEL', stale, priority_names[p])
    end
    if more then break end
  else
    delta = 0
    local len = redis.call('LLEN', pending[p])
    local tail_end = math.min(W, len)
    local deleted = scan_window(p, 0, tail_end, -1)
    len, tail_end = len - deleted, tail_end - deleted
    local head_from = math.max(tail_end, len - W)  -- the newest window: [head_from, len)
    if head_from > tail_end and n_jobs < max_jobs then
      -- The cursor is an offset in the list as the previous call left it; this call's
      -- deletions from the tail window moved it `deleted` closer to the tail.
      local field = letters[p] .. ':' .. filter_id
      local cursor = tonumber(redis.call('HGET', scan, field)) or 0
      local from = math.max(cursor - deleted, tail_end)
      local _, stopped = scan_window(p, from, math.min(from + W, head_from), false)
      if stopped >= head_from then stopped = 0 end  -- the pass is over: start again
      if stopped > 0 then
        redis.call('HSET', scan, field, stopped)
      elseif cursor > 0 then
        redis.call('HDEL', scan, field)
      end
    end
    scan_window(p, head_from, len, 1)
    if delta ~= 0 then uncount(p, delta) end
  end
end
-- One ZADD per batch instead of one per job (in chunks: unpack has a stack limit). Still
-- inside this script, so the ids are never out of both pending and leases.
for i = 1, n_leased, 1000 do
  redis.call('ZADD', leases, unpack(leased, i, math.min(i + 999, n_leased)))
end
if more then
  jobs[n_jobs + 1] = 1
-- Nothing here: register idle, and drop registrations that expired (crashed workers'). Every
-- pending list was found empty, so no tombstone is left: the count is reset, which also
-- corrects it after an enqueue's hand-off popped a tombstone (it does not count them).
elseif n_jobs == 0 and worker ~= '' and ARGV[7] ~= '2' and filter == nil and served == 'hnl' then
  redis.call('ZREMRANGEBYSCORE', idle, '-inf', '(' .. now)
  redis.call('ZADD', idle, now + tonumber(ARGV[8]), registration)
  redis.call('DEL', stale)
end
return jobs
