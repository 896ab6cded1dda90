#!lua
-- watch.lua: mark a job as waited on, and say its state, in one step.
-- KEYS[1] <p>:{q}:job:<id>   the job hash
-- Returns: the job's state, or false when there is no such job.
-- Guarantee: the caller subscribes to KEYS[1]..':done' first, then calls this. Every script
--          that ends the job (ack, fail to the DLQ, cancel, recovery to the DLQ) reads notify
--          and publishes; so either this call sees a terminal state, or the end comes later
--          and is published to a subscriber that already listens. No notification is lost.
-- Complexity: O(1).
local job = KEYS[1]
local state = redis.call('HGET', job, 'state')
if not state then return false end
redis.call('HSET', job, 'notify', '1')
return state
