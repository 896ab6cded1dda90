#!lua
-- dequeue.lua: lease up to N of the oldest jobs, highest non-empty priority first.
-- KEYS[1] <p>:{q}:paused          exists while the queue is paused
-- KEYS[2] <p>:{q}:pending:high    list of ids, oldest at the tail
-- KEYS[3] <p>:{q}:pending:normal
-- KEYS[4] <p>:{q}:pending:low
-- KEYS[5] <p>:{q}:leases          zset id -> lease deadline (unix ms)
-- KEYS[6] <p>:{q}:job:            prefix of job hashes
-- Derived: KEYS[6]..id, the job hash; same {q} tag, so the same slot.
-- ARGV[1] now (unix ms)   ARGV[2] lease length (ms)   ARGV[3] N, the most jobs to take
-- ARGV[4] scan limit: with a type filter, how many of the oldest ids per priority to look at
-- ARGV[5] priorities this worker serves, as letters: 'hnl' all, 'h' only high, 'nl' ...
-- ARGV[6..] job types this worker serves; none means every type
-- Returns: {} if paused or nothing matches, else one array per job:
--          {id, token, attempts, max_retries, timeout_ms, name, payload, priority,
--           created, recoveries, run_at}
-- Guarantee: an id leaves a pending list only by entering leases with a new fencing token
--          (the job's token field, incremented at every lease), in one atomic step. A higher
--          priority is always emptied first. A job whose type is not in the filter is never
--          taken: it stays where it is, in order; so is a job of a priority the worker does not serve.
-- Complexity: without a filter, per job one HMGET and one HSET; per call one RPOP (with a
--          count) per priority and one ZADD (per 500 jobs). With a filter, O(scan limit) HGETs
--          per priority.
-- Note: an id with no job hash (impossible unless someone deleted keys by hand) is dropped.
local paused = KEYS[1]
local pending = {KEYS[2], KEYS[3], KEYS[4]}
local priority_names = {'high', 'normal', 'low'}
local leases = KEYS[5]
local job_prefix = KEYS[6]

local now = tonumber(ARGV[1])
local deadline = now + tonumber(ARGV[2])
local max_jobs = tonumber(ARGV[3])
local scan_limit = tonumber(ARGV[4])

if redis.call('EXISTS', paused) == 1 then return {} end

local served = ARGV[5]
local filter = nil
if #ARGV >= 6 then
  filter = {}
  for i = 6, #ARGV do filter[ARGV[i]] = true end
end

local jobs = {}
local leased = {}  -- deadline, id, deadline, id, ...: one ZADD for the whole batch
local function lease(id, priority)
  local job = job_prefix .. id
  local f = redis.call('HMGET', job, 'name', 'payload', 'attempts', 'max_retries',
                       'timeout_ms', 'created', 'recoveries', 'token', 'run_at')
  if not f[1] then return end
  local attempts = (tonumber(f[3]) or 0) + 1
  local token = (tonumber(f[8]) or 0) + 1
  redis.call('HSET', job, 'state', 'active', 'attempts', attempts, 'token', token,
             'started', now, 'updated', now)
  leased[#leased + 1] = deadline
  leased[#leased + 1] = id
  jobs[#jobs + 1] = {id, token, attempts, tonumber(f[4]) or 0, tonumber(f[5]) or 0, f[1], f[2],
                     priority, tonumber(f[6]) or 0, tonumber(f[7]) or 0, tonumber(f[9]) or 0}
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
return jobs
