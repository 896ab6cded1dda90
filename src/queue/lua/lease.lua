-- lease.lua: not a script. embed_lua.cmake pastes it where dequeue.lua and enqueue.lua say
-- "-- #include lease.lua", so that a job is leased the same way by a worker's dequeue and by
-- an enqueue that hands it straight to an idle worker.
--
-- Leasing a job writes nothing about the job: its record stays in `jobs` as it is, and the
-- lease is the member "<id>:<token>" of the lease set, whose score is the deadline. The token
-- (one INCR of `seq` per call, shared by the call's batch) is the fencing token: every later
-- write about the run names the member, and a member the recovery removed is gone. Every
-- lease is tentative until the holder's heartbeat adds its member to `started`
-- (extend_lease.lua): recover_expired.lua hands a job whose lease expired unstarted back
-- uncharged, once (the record's `lost` flag).

-- The lease member of a job.
local function lease_member(id, token)
  return id .. ':' .. token
end

-- A job handed to an idle worker's inbox, as one string: "<token>|<id length>:<id><record>"
-- (broker.cc DecodeHanded reads it).
local function encode_handed(id, token, rec)
  return token .. '|' .. #id .. ':' .. id .. rec
end
