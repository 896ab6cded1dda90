-- locate.lua: not a script. embed_lua.cmake pastes it where a script says
-- "-- #include locate.lua". Where a job is, by the rules of docs/ARCHITECTURE.md
-- ("Records": a job's state is where it is): off the hot path only (get_job, watch, cancel).

-- The final record of `id` in a live done bucket, or nil. Entries of `buckets` whose expiry
-- is past are dropped first (whoever reads drops them); the newest bucket is read first.
local function find_final(buckets, id, now)
  redis.call('ZREMRANGEBYSCORE', buckets, '-inf', now)
  local live = redis.call('ZRANGE', buckets, 0, -1)
  for i = #live, 1, -1 do
    local final = redis.call('HGET', live[i], id)
    if final then return final end
  end
  return nil
end

-- The state of job `id` and its bytes: k = {jobs, scheduled, retry, dead, leases, buckets}.
-- Returns state, bytes, score: 'pending' | 'scheduled' (run_at) | 'retrying' (retry_at) |
-- 'active' (lease deadline; bytes = the record) | 'failed' (time of death), each with its
-- record; 'completed' | 'cancelled' with the final record; or nil when there is no such job.
local function locate_job(k, id, now)
  local rec = redis.call('HGET', k.jobs, id)
  if not rec then
    local final = find_final(k.buckets, id, now)
    if not final then return nil end
    if string.sub(final, 1, 1) == 'c' then return 'completed', final, 0 end
    return 'cancelled', final, 0
  end
  local score = redis.call('ZSCORE', k.dead, id)
  if score then return 'failed', rec, score end
  score = redis.call('ZSCORE', k.scheduled, id)
  if score then return 'scheduled', rec, score end
  score = redis.call('ZSCORE', k.retry, id)
  if score then return 'retrying', rec, score end
  local deadline = redis.call('ZSCORE', k.leases, id)
  if deadline then return 'active', rec, deadline end
  return 'pending', rec, 0
end
