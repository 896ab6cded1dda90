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
-- Derived: KEYS[6]..id, the job hash; KEYS[8]..worker, the inbox: same {q} tag, same slot.
-- ARGV[1] now (unix ms)   ARGV[2] lease length (ms)   ARGV[3] N, the most jobs to take
-- ARGV[4] scan limit: with a type filter, how many of the oldest ids per priority to look at
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
--          priority, created, recoveries, run_at}.
-- Guarantee: an id leaves a pending list only by entering leases with a new fencing token
--          (the job's token field, incremented at every lease), in one atomic step. A higher
--          priority is always emptied first. A job whose type is not in the filter is never
--          taken: it stays where it is, in order; so is a job of a priority the worker does
--          not serve. A worker that leases nothing and serves every type and priority is
--          registered idle in the same step (enqueue.lua then leases new jobs to its inbox);
--          taking back the registration and emptying the inbox are one step too, so a job
--          handed over is never left behind unseen.
-- Complexity: without a filter, per job one HMGET and one HSET; per call one RPOP (with a
--          count) per priority and one ZADD (per 500 jobs), plus ZREM + LRANGE when it may be
--          registered. With a filter, O(scan limit) HGETs per priority.
-- Note: an id with no job hash (impossible unless someone deleted keys by hand) is dropped.
-- #include lease.lua
local paused = KEYS[1]
local pending = {KEYS[2], KEYS[3], KEYS[4]}
local priority_names = {'high', 'normal', 'low'}
local leases = KEYS[5]
local job_prefix = KEYS[6]
local idle = KEYS[7]
local inbox_prefix = KEYS[8]

local now = tonumber(ARGV[1])
local deadline = now + tonumber(ARGV[2])
local max_jobs = tonumber(ARGV[3])
local scan_limit = tonumber(ARGV[4])
local worker = ARGV[6]
local registration = ARGV[2] .. ' ' .. worker

local jobs = {}
if worker ~= '' and ARGV[7] ~= '0' then
  redis.call('ZREM', idle, registration)
  local inbox = inbox_prefix .. worker
  local handed = redis.call('LRANGE', inbox, 0, -1)
  if #handed > 0 then
    redis.call('DEL', inbox)
    for i = #handed, 1, -1 do jobs[#jobs + 1] = handed[i] end  -- oldest (tail) first
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
local start_now = (tonumber(ARGV[9]) or max_jobs) - #jobs

local leased = {}  -- deadline, id, deadline, id, ...: one ZADD for the whole batch
local function lease(id, priority)
  local job = lease_job(job_prefix .. id, id, priority, now, #leased / 2 >= start_now)
  if not job then return end
  leased[#leased + 1] = deadline
  leased[#leased + 1] = id
  jobs[#jobs + 1] = job
end

local letters = {'h', 'n', 'l'}
for p = 1, 3 do
  if #jobs >= max_jobs then break end
  if not string.find(served, letters[p], 1, true) then
    -- not served by this worker: skip, and never take from it
  elseif filter == nil then
    local ids = redis.call('RPOP', pending[p], max_jobs - #jobs)
    if ids then
      for _, id in ipairs(ids) do lease(id, priority_names[p]) end
    end
  else
    local window = redis.call('LRANGE', pending[p], -scan_limit, -1)
    for i = #window, 1, -1 do  -- the tail is the oldest
      if #jobs >= max_jobs then break end
      local id = window[i]
      local name = redis.call('HGET', job_prefix .. id, 'name')
      if name and filter[name] then
        redis.call('LREM', pending[p], -1, id)
        lease(id, priority_names[p])
      end
    end
  end
end
-- One ZADD per batch instead of one per job (in chunks: unpack has a stack limit). Still
-- inside this script, so the ids are never out of both pending and leases.
for i = 1, #leased, 1000 do
  redis.call('ZADD', leases, unpack(leased, i, math.min(i + 999, #leased)))
end
-- Nothing here: register idle, and drop registrations that expired (crashed workers').
if #jobs == 0 and worker ~= '' and ARGV[7] ~= '2' and filter == nil and served == 'hnl' then
  redis.call('ZREMRANGEBYSCORE', idle, '-inf', '(' .. now)
  redis.call('ZADD', idle, now + tonumber(ARGV[8]), registration)
end
return jobs
