-- lease.lua: not a script. embed_lua.cmake pastes it where dequeue.lua and enqueue.lua say
-- "-- #include lease.lua", so that a job is leased the same way by a worker's dequeue and by
-- an enqueue that hands it straight to an idle worker.
--
-- Leasing a job writes nothing about the job: its record stays in `jobs` as it is. The
-- lease is the job's id in the lease set, scored by its deadline, and its fencing token in
-- `tokens` (id -> token; one INCR of `seq` per call, shared by the call's batch): every later
-- write about the run names the token, and a token the recovery removed is gone. Every lease
-- is tentative until the holder's heartbeat reports the job started, which appends 's' to the
-- stored token (extend_lease.lua): recover_expired.lua hands a job whose lease expired
-- unstarted back uncharged, once (the record's `lost` flag).

-- Whether `stored` (the value in `tokens`) is the lease of `token` (as the holder gives it).
local function holds(stored, token)
  return stored ~= false and stored ~= nil and (stored == token or stored == token .. 's')
end

-- A job handed to an idle worker's inbox, as one string: "<token>|<id length>:<id><record>"
-- (broker.cc DecodeHanded reads it).
local function encode_handed(id, token, rec)
  return token .. '|' .. #id .. ':' .. id .. rec
end
