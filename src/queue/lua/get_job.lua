#!lua
-- get_job.lua: the state of one job and the record(s) it is stored as.
-- KEYS[1] <p>:{q}:jobs   KEYS[2] <p>:{q}:scheduled   KEYS[3] <p>:{q}:retry
-- KEYS[4] <p>:{q}:dead   KEYS[5] <p>:{q}:leases      KEYS[6] <p>:{q}:buckets
-- KEYS[7] <p>:{q}:cancel set of ids whose cancellation was asked
-- ARGV[1] now (unix ms)   ARGV[2] id
-- Returns: false when there is no such job (never created, expired or purged), else
--          {state, bytes, score, cancel}: bytes is the record (record.h), or the final record
--          of a completed or cancelled job; score is the run_at of a scheduled job, the
--          retry_at of a retrying one, the lease deadline of an active one, the time of death
--          of a failed one, else 0; cancel is 1 when cancellation of the job was asked.
-- Guarantee: one consistent view: every place a job can be is read in one atomic step.
--          Writes nothing but the removal of expired entries of `buckets`.
-- Complexity: O(log n) for a job with a record (one HGET, up to four ZSCOREs); one HGET per
--          live done bucket (about 17 per class) for an ended one.
-- #include locate.lua
local k = {jobs = KEYS[1], scheduled = KEYS[2], retry = KEYS[3], dead = KEYS[4],
           leases = KEYS[5], buckets = KEYS[6]}
local id = ARGV[2]
local state, bytes, score = locate_job(k, id, tonumber(ARGV[1]))
if not state then return false end
return {state, bytes, tostring(score), redis.call('SISMEMBER', KEYS[7], id)}
