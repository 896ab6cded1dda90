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
