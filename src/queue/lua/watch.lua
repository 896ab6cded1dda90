#!lua
-- watch.lua: mark a job as waited on, and say its state, in one step.
-- KEYS[1] <p>:{q}:jobs   KEYS[2] <p>:{q}:scheduled   KEYS[3] <p>:{q}:retry
-- KEYS[4] <p>:{q}:dead   KEYS[5] <p>:{q}:leases      KEYS[6] <p>:{q}:buckets
-- KEYS[7] <p>:{q}:notify set of ids a client waits on
-- ARGV[1] now (unix ms)   ARGV[2] id
-- Returns: the job's state (locate.lua), or false when there is no such job.
-- Guarantee: the caller subscribes to the job's shard channel (<p>:{q}:ended:<id>) first,
--          then calls this. A job not ended yet joins `notify`, and every script that ends a
--          job (ack, fail to the DLQ or cancelled, cancel, release or recovery ending it)
--          removes it from `notify` and publishes; so either this call sees a terminal state,
--          or the end comes later and is published to a subscriber that already listens. No
--          notification is lost. A job already ended does not join `notify`.
-- Complexity: as get_job.lua, plus one SADD.
-- #include locate.lua
local k = {jobs = KEYS[1], scheduled = KEYS[2], retry = KEYS[3], dead = KEYS[4],
           leases = KEYS[5], buckets = KEYS[6]}
local state = locate_job(k, ARGV[2], tonumber(ARGV[1]))
if not state then return false end
if state ~= 'completed' and state ~= 'cancelled' and state ~= 'failed' then
  redis.call('SADD', KEYS[7], ARGV[2])
end
return state
