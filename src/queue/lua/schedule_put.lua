#!lua
-- schedule_put.lua: create or replace a cron schedule's definition, keeping its state.
-- KEYS[1] <p>:{cron}:schedule:<id>  hash: definition and state
-- KEYS[2] <p>:{cron}:due            zset id -> next_run (unix ms), enabled and unpaused only
-- KEYS[3] <p>:{cron}:ids            set of every schedule id
-- KEYS[4] <p>:{cron}:wake           list of wake-up tokens schedulers block on
-- ARGV[1] mode: 'create' (fails if it exists), 'replace' (fails if it does not), 'upsert'
-- ARGV[2] now (unix ms)
-- ARGV[3] next_run (unix ms) computed from now for the new definition; -1 = never
-- ARGV[4] id   ARGV[5] cron   ARGV[6] timezone   ARGV[7] missed (once|skip|all)
-- ARGV[8] enabled ('1'|'0')   ARGV[9] source ('api'|'config')
-- ARGV[10..16] the job: name, payload, priority, queue, max_retries, timeout_ms, description
-- Returns: 'created', 'updated', 'exists' (create of an existing id: nothing written) or
--          'notfound' (replace of a missing id: nothing written).
-- Guarantee: definition, due index and id set change together. State (last_run, run_count,
--          last_error, last_job, paused) survives a replace. next_run is kept when cron and
--          timezone are unchanged and the schedule was already enabled, so re-applying the
--          same config (every scheduler start) neither skips nor repeats an occurrence; any
--          other change starts from ARGV[3].
-- Complexity: O(log n).
local hash, due, ids, wake = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local mode, now, next_run = ARGV[1], ARGV[2], ARGV[3]
if not tonumber(now) or not tonumber(next_run) or #ARGV ~= 16 then
  return redis.error_reply('BANANAS schedule_put: expected 16 arguments')
end

local exists = redis.call('EXISTS', hash) == 1
if mode == 'create' and exists then return 'exists' end
if mode == 'replace' and not exists then return 'notfound' end

local keep_next = false
if exists then
  local old = redis.call('HMGET', hash, 'cron', 'timezone', 'enabled', 'next_run')
  keep_next = old[1] == ARGV[5] and old[2] == ARGV[6] and old[3] == '1' and ARGV[8] == '1' and
              old[4] ~= false and old[4] ~= ''
end

redis.call('HSET', hash, 'id', ARGV[4], 'cron', ARGV[5], 'timezone', ARGV[6], 'missed', ARGV[7],
           'enabled', ARGV[8], 'source', ARGV[9], 'name', ARGV[10], 'payload', ARGV[11],
           'priority', ARGV[12], 'queue', ARGV[13], 'max_retries', ARGV[14],
           'timeout_ms', ARGV[15], 'description', ARGV[16], 'updated', now)
if not exists then
  redis.call('HSET', hash, 'created', now, 'run_count', 0, 'paused', 0)
end
if not keep_next then redis.call('HSET', hash, 'next_run', next_run) end

local current = tonumber(redis.call('HGET', hash, 'next_run'))
local paused = redis.call('HGET', hash, 'paused') == '1'
if ARGV[8] == '1' and not paused and current >= 0 then
  redis.call('ZADD', due, current, ARGV[4])
else
  redis.call('ZREM', due, ARGV[4])
end
redis.call('SADD', ids, ARGV[4])
-- A sleeping scheduler may be waiting for a later time than this schedule's: wake one.
if redis.call('LLEN', wake) == 0 then redis.call('LPUSH', wake, '1') end
if exists then return 'updated' end
return 'created'
