#!lua
-- schedule_claim.lua: claim a cron occurrence, for one queue, before its job is enqueued.
-- KEYS[1] <p>:{cron}:schedule:<id>
-- ARGV[1] the occurrence (unix ms) the caller read as next_run
-- ARGV[2] '1' to claim it if it is not claimed yet; '0' only to learn of an earlier claim
-- Returns: {0}        next_run is no longer ARGV[1] (another scheduler recorded the
--                     occurrence, the schedule was changed, or it is gone): do nothing;
--          {1}        not claimed, and ARGV[2] was '0';
--          {2, queue} claimed, by this call or an earlier one: enqueue the occurrence's job on
--                     that queue (with the unique key sched:<id>:<occurrence>).
-- Guarantee: an occurrence is claimed once, for the queue its schedule names at that moment,
--          and every later fire of it (a racing scheduler, a retry after a crash or a refused
--          enqueue) gets that same queue, whatever PUTs changed since: the unique key, which
--          lives under the queue's tag, then makes it one job. A claimed occurrence is due
--          until schedule_advance.lua records it (and clears the claim), so a claim whose
--          enqueue never happened is enqueued by the next round: never lost.
-- Complexity: O(1).
local hash, occurrence = KEYS[1], ARGV[1]
local state = redis.call('HMGET', hash, 'next_run', 'claim', 'claim_queue', 'queue')
if state[1] ~= occurrence then return {0} end
if state[2] == occurrence then return {2, state[3]} end
if ARGV[2] ~= '1' then return {1} end
redis.call('HSET', hash, 'claim', occurrence, 'claim_queue', state[4])
return {2, state[4]}
