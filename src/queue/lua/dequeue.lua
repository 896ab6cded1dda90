#!lua
-- dequeue.lua: lease up to N of the oldest jobs, highest non-empty priority first; jobs
-- handed to this worker's inbox while it was idle come first.
-- KEYS[1] <p>:{q}:paused          exists while the queue is paused
-- KEYS[2] <p>:{q}:pending:high    list of ids, oldest at the tail
-- KEYS[3] <p>:{q}:pending:normal
-- KEYS[4] <p>:{q}:pending:low
-- KEYS[5] <p>:{q}:leases          zset id -> lease deadline (unix ms)
-- KEYS[6] <p>:{q}:jobs            hash id -> record
-- KEYS[7] <p>:{q}:idle            zset "<lease ms> <worker id>" -> registration expiry (ms)
-- KEYS[8] <p>:{q}:inbox:          prefix of idle workers' inboxes
-- KEYS[9] <p>:{q}:stale           hash priority -> tombstones in that pending list
-- KEYS[10] <p>:{q}:seq            fencing token counter
-- KEYS[11] <p>:{q}:tokens         hash id -> fencing token of its lease
-- KEYS[12] <p>:{q}:scan           hash filter -> where its next middle window starts (given
--                                 with a type filter only: one key less on the hot path)
-- Derived: KEYS[8]..worker, the inbox: same {q} tag, same slot.
-- ARGV[1] now (unix ms)   ARGV[2] lease length (ms)   ARGV[3] N, the most jobs to take
-- ARGV[4] W, the scan window: with a type filter, how many ids each of its three windows
--         looks at per priority (below)
-- ARGV[5] priorities this worker serves, as letters: 'hnl' all, 'h' only high, 'nl' ...
-- ARGV[6] worker id for hand-off ('' = none: a worker with a filter never registers)
-- ARGV[7] '1' if this worker may be registered idle: take back the registration and empty
--         the inbox first; '2' the same for a worker that is leaving (N = 0): never registers
-- ARGV[8] how long an idle registration lasts (ms): a little over the worker's BLPOP timeout,
--         so a crashed worker's registration soon stops receiving jobs
-- ARGV[9..] job types this worker serves; none means every type
-- Returns: {token, more, h, inbox_1 .. inbox_h, id_1, record_1, id_2, record_2, ...}:
--          token is the fencing token of every job leased here (0 when none), more is 1
--          when the call stopped after dropping MAX_DROPPED tombstones (call again), h the
--          number of inbox jobs, each as enqueue.lua stored it (lease.lua encode_handed),
--          then the jobs leased here with their records, as stored. Nothing is decoded.
-- Tombstones: a pending list may hold entries that are no longer pending jobs: ids whose
--          record left `jobs` (cancel.lua leaves them) and '' (an id a filtered lease took
--          from the middle of a list, below). They are counted per priority in KEYS[9]
--          (queue depth = LLEN - that count) and dropped, uncounted, when a dequeue reaches
--          them. An entry whose id has a record in `jobs` is always a pending job. Without a
--          filter, a call that drops MAX_DROPPED of them stops (strict priority: it does not
--          go on to a lower priority), returns what it has with more = 1, and registers
--          nothing.
-- Type filter: three windows of W ids per priority, each oldest first: the oldest W (the
--          tail), a middle window that starts where the previous call of the same filter
--          (KEYS[12], per priority and set of types) stopped and wraps around to the tail
--          when it reaches the newest W, and the newest W (the head). The middle window is
--          what keeps a filtered worker live behind any number of jobs it does not serve: a
--          served job is reached within ceil(len / W) calls that come back empty from a fresh
--          cursor, 2 * ceil(len / W) from anywhere, for a list nobody else changes. Leased
--          ids and tombstones met are removed from the two end windows (LSET to '', then one
--          LREM from the nearer end: O(W)); in the middle window a leased job's entry is set
--          to '' and stays, a counted tombstone, since removing it would cost O(len). A job's
--          type is read from its record's header (record.lua), one HMGET per window.
-- Guarantee: a job is leased only while it is pending, its lease entering the lease set
--          under a new fencing token in the same atomic step that takes it off its list. A
--          higher priority is always emptied first. A job whose type is not in the filter is
--          never taken: it stays where it is, in order; so is a job of a priority the worker
--          does not serve. A worker that leases nothing and serves every type and priority is
--          registered idle in the same step (enqueue.lua then leases new jobs to its inbox);
--          taking back the registration and emptying the inbox are one step too, so a job
--          handed over is never left behind unseen.
-- Complexity: without a filter, per call one RPOP (with a count) and one HMGET per priority
--          taken from, one INCR, one ZADD and one HSET (per 1000 jobs), plus ZREM + LRANGE
--          when it may be registered; per job only Lua's copy of its id and record. Tombstones cost their share of those calls (MAX_DROPPED at most).
--          With a filter, per priority three LRANGEs (the middle one O(offset / 128) to
--          reach), three HMGETs of W, and two LREMs of O(W).
-- #include lease.lua
-- #include record.lua
local paused = KEYS[1]
local pending = {KEYS[2], KEYS[3], KEYS[4]}
local priority_letters = {'h', 'n', 'l'}
local priority_names = {'high', 'normal', 'low'}  -- the fields of `stale`
local leases, jobs, idle, inbox_prefix = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local stale, seq, tokens = KEYS[9], KEYS[10], KEYS[11]

local MAX_DROPPED = 1000  -- tombstones one unfiltered call may drop

local now = tonumber(ARGV[1])
local deadline = now + tonumber(ARGV[2])
local max_jobs = tonumber(ARGV[3])
local worker = ARGV[6]
local registration = ARGV[2] .. ' ' .. worker

local handed = {}
if worker ~= '' and ARGV[7] ~= '0' then
  redis.call('ZREM', idle, registration)
  local inbox = inbox_prefix .. worker
  local entries = redis.call('LRANGE', inbox, 0, -1)
  if #entries > 0 then
    redis.call('DEL', inbox)
    for i = #entries, 1, -1 do handed[#handed + 1] = entries[i] end  -- oldest (tail) first
  end
end

local function reply(token, more, leased_jobs, n)
  local out = {token, more, #handed}
  for i = 1, #handed do out[3 + i] = handed[i] end
  local base = #out
  for i = 1, n do out[base + i] = leased_jobs[i] end
  return out
end

if redis.call('EXISTS', paused) == 1 then return reply(0, 0, {}, 0) end

local served = ARGV[5]
local filter = nil
if #ARGV >= 9 then
  filter = {}
  for i = 9, #ARGV do filter[ARGV[i]] = true end
end

local token = nil
local out = {}      -- id, record, id, record, ...
local n_out = 0     -- its length, kept by hand (the # operator searches the table)
local n_jobs = #handed
local members = {}  -- deadline, id, ...: one ZADD for the whole batch
local fences = {}   -- id, token, ...: one HSET
local n_members = 0
local function lease(id, rec)
  if not token then token = redis.call('INCR', seq) end
  members[n_members + 1] = deadline
  members[n_members + 2] = id
  fences[n_members + 1] = id
  fences[n_members + 2] = token
  n_members = n_members + 2
  out[n_out + 1] = id
  out[n_out + 2] = rec
  n_out = n_out + 2
  n_jobs = n_jobs + 1
end

local function uncount(p, n)  -- n tombstones more (n > 0) or fewer in pending[p]
  if n == 0 then return end
  local left = redis.call('HINCRBY', stale, priority_names[p], n)
  if left <= 0 then redis.call('HDEL', stale, priority_names[p]) end
end

-- Type filter only (defined here so that the unfiltered path does not pay for it).
local W, scan, filter_id, scan_window, delta
if filter then
  W = tonumber(ARGV[4])
  scan = KEYS[12]
  local types = {}
  for i = 9, #ARGV do types[#types + 1] = ARGV[i] end
  table.sort(types)
  filter_id = redis.sha1hex(table.concat(types, '\n'))
  local REMOVED = ''  -- a tombstone entry; never a job id (enqueue.lua refuses '')
  -- Looks at the entries of pending[p] at offsets [from, to) from the tail (0 = the
  -- oldest), oldest first, until the batch is full, and leases the served pending ones. With
  -- `remove`, a leased job's entry and every tombstone met are overwritten with REMOVED and
  -- deleted by one LREM from `remove`'s end (-1 the tail, 1 the head): O(W); without, a
  -- leased job's entry becomes REMOVED and stays (a new tombstone). Adds the change of the
  -- tombstone count to `delta`; returns how many entries were deleted and the offset after
  -- the last one looked at.
  scan_window = function(p, from, to, remove)
    if from >= to or n_jobs >= max_jobs then return 0, from end
    local list = pending[p]
    local ids = redis.call('LRANGE', list, -to, -from - 1)  -- index -(k + 1) is offset k
    if #ids == 0 then return 0, from end
    local recs = redis.call('HMGET', jobs, unpack(ids))
    local marked, offset = 0, from
    for i = #ids, 1, -1 do
      if n_jobs >= max_jobs then break end
      local rec = recs[i]
      local take = rec and filter[record_name(rec)]
      if take then lease(ids[i], rec) end
      if remove and (take or not rec) then
        redis.call('LSET', list, -offset - 1, REMOVED)
        marked = marked + 1
        if not take then delta = delta - 1 end
      elseif take then
        redis.call('LSET', list, -offset - 1, REMOVED)
        delta = delta + 1
      end
      offset = offset + 1
    end
    if marked > 0 then redis.call('LREM', list, remove * marked, REMOVED) end
    return marked, offset
  end
end

local more = 0  -- stopped on MAX_DROPPED: the list may hold more jobs
for p = 1, 3 do
  if n_jobs >= max_jobs then break end
  if not string.find(served, priority_letters[p], 1, true) then
    -- not served by this worker: skip, and never take from it
  elseif filter == nil then
    local dropped = 0
    repeat
      local want = math.min(max_jobs - n_jobs, 2000)  -- HMGET's unpack has a stack limit
      local ids = redis.call('RPOP', pending[p], want)
      if not ids then break end
      local recs = redis.call('HMGET', jobs, unpack(ids))
      local popped = #ids
      for i = 1, popped do
        local rec = recs[i]
        if rec then lease(ids[i], rec) else dropped = dropped + 1 end
      end
      if popped < want then break end  -- the list is empty now
      if dropped >= MAX_DROPPED and n_jobs < max_jobs then more = 1 end
    until n_jobs >= max_jobs or more == 1
    uncount(p, -dropped)
    if more == 1 then break end
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
      local field = priority_letters[p] .. ':' .. filter_id
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
    uncount(p, delta)
  end
end
-- One ZADD per batch instead of one per job (in chunks: unpack has a stack limit). Still
-- inside this script, so a job is never out of both its list and the lease set.
for i = 1, n_members, 2000 do
  redis.call('ZADD', leases, unpack(members, i, math.min(i + 1999, n_members)))
  redis.call('HSET', tokens, unpack(fences, i, math.min(i + 1999, n_members)))
end
-- Nothing here: register idle, and drop registrations that expired (crashed workers'). Every
-- pending list was found empty, so no tombstone is left: the count is reset.
if more == 0 and n_jobs == 0 and worker ~= '' and ARGV[7] ~= '2' and filter == nil and
    served == 'hnl' then
  redis.call('ZREMRANGEBYSCORE', idle, '-inf', '(' .. now)
  redis.call('ZADD', idle, now + tonumber(ARGV[8]), registration)
  redis.call('DEL', stale)
end
return reply(token or 0, more, out, n_out)
