#!/usr/bin/python3
"""Redis cost per job of candidate data models for Engine v2 (issue 14), each carrying the
full delivery guarantee on its hot path, measured on a scratch redis-server this script
starts itself (free port, no persistence).

Every job: id (26-char ULID-like + "-default", 34 bytes), name, opaque payload, priority
(pending lists high/normal/low), attempts, max_retries, timeout_ms, created, run_at, optional
unique key. In the new models the client packs a job into an opaque record
"<attempts>|<max_retries>|<priority letter>|<body>" (body = compact JSON made by the client);
Lua never decodes JSON, it only reads the three small header fields on cold paths (recovery).
Results (completed, cancelled, dead records) go to time-bucketed hashes
`done:<now // BUCKET_MS>` with one PEXPIREAT per bucket per call (RESULT_TTL_SUCCESS 24 h),
the worker sending the completed record as opaque bytes.

  current  the scripts Bananas runs (src/queue/lua/enqueue.lua, dequeue.lua, ack.lua): one
           hash per job, written at enqueue, at lease (every lease tentative, start_now = 0,
           as the worker asks) and at completion (+ PEXPIRE). The baseline.
  a1       "batched", fencing in a hash: pending lists hold ids, records are fields of one
           per-queue hash `jobs`. Dequeue = RPOP K + HMGET jobs + one INCR (batch token) +
           ZADD leases (deadline -> id) + HSET tokens (id -> token). Ack = HMGET tokens
           (fence) + HDEL tokens + ZREM leases + HDEL jobs + HSET done bucket + PEXPIREAT.
           Cancel of a pending job = HDEL jobs (the id left in its list is the tombstone:
           HMGET returns nil, skipped for free).
  a2       "batched", fencing in the lease member: as a1 but leases hold "<id>:<token>";
           ack = ZMSCORE (fence) + ZREM + HDEL jobs + HSET bucket + PEXPIREAT; no tokens hash.
  b        "packed": the pending list entry is "<id>|<record>" (id at a fixed-length head),
           an index hash id -> entry for GET; dequeue = RPOP K + INCR + ZADD "<id>:<token>"
           (no record read); ack as a2 with HDEL index. Cancel = SADD cancelled + HDEL index;
           dequeue runs SMISMEMBER on the popped ids only while `cancelled` is non-empty
           (one SCARD per call otherwise).
  c        Redis Streams: one stream per priority, one consumer group. Enqueue = XADD per job
           (inside the chunk script) + one HSET index id -> "S<p><entry id>"; dequeue =
           XREADGROUP COUNT K per priority (in a script: strict priority, exact K); ack =
           XPENDING range for this consumer (the fence: entry still owned by this consumer
           with the same delivery count, so a stale consumer's ack is refused) + XACK + XDEL
           + HDEL index + HSET bucket + PEXPIREAT. Recovery = XAUTOCLAIM JUSTID to a
           "recovered" consumer; a dequeue takes those first with XCLAIM (delivery count =
           poison-pill count). Cancel of a pending entry = XDEL. No wake-up marker: an idle
           worker blocks in XREADGROUP BLOCK.

Measured per model, per round: (1) bulk enqueue, chunks of 1,000 jobs per script call,
(2) drain = dequeue K + ack of the K, one synchronous client, for each K in BATCH,
(3) single enqueue, one script call per job, no pipelining. For each: Redis CPU us/job
(INFO cpu user+sys), us/job inside EVALSHA (commandstats), Redis calls/job (commandstats:
EVALSHA plus the commands run inside scripts), bytes/job in+out (INFO stats
total_net_input_bytes / total_net_output_bytes). Memory per pending job: used_memory delta
over N pending jobs, and MEMORY USAGE summed over every key. No unique keys in the measured
jobs (the scripts handle them). Then, once per model, a correctness scenario (tombstone
skipped, GET in each state, fail with retry, recovery of an expired lease, a stale ack
refused) and the cost of the cold paths (cancel, fail, recover, GET per state), reported
per job, not in the hot-path total. The table printed last holds the medians of the rounds.
LUA_PROBE=1 adds what per-element work inside a script costs (a loop over 64 ids, one
command with 64 elements, 64 redis.call).

Not modelled in the new models: the hand-off to idle workers' inboxes, type filters, tentative
leases (see docs/DECISIONS.md, 2026-12-07, Engine v2), promotion of retry/scheduled jobs,
and idempotent re-send of an enqueue batch (current's EXISTS per job).

    bench/redis_model_cost.py                          # N=50000 BATCH=32,64 ROUNDS=2
    N=50000 BATCH=32,64 ROUNDS=3 MODELS=current,a1,b bench/redis_model_cost.py
    N=2000 ROUNDS=1 MODELS=current LUA_PROBE=1 bench/redis_model_cost.py   # + per-element probe
"""
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

import redis

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "..", "src", "queue", "lua")
N = int(os.environ.get("N", "50000"))
BATCHES = [int(b) for b in os.environ.get("BATCH", "32,64").split(",")]
ROUNDS = int(os.environ.get("ROUNDS", "2"))
MODELS = os.environ.get("MODELS", "current,a1,a2,b,c").split(",")
COLD = int(os.environ.get("COLD", "1000"))  # jobs per cold-path cost measurement
QUEUE = "default"
Q = "bananas:{%s}:" % QUEUE
IDLEN = 26 + 1 + len(QUEUE)
DAY_MS = 86_400_000
BUCKET_MS = 3_600_000
LEASE_MS = 30_000
CHUNK = 1000
PRIO = {"high": "h", "normal": "n", "low": "l"}

# ---------------------------------------------------------------------------------------
# Lua shared by the new models.
# ---------------------------------------------------------------------------------------

# Enqueue for a1/a2/b (pending lists and a per-queue hash). KEYS: pending h, n, l,
# scheduled, marker, hash (jobs or index), unique prefix. ARGV: now, default unique ttl,
# then per job: id, priority letter, run_at (0 = now), unique key ('' = none), value (a: the
# record; b: the entry "<id>|<record>", pushed as is). Returns the duplicates only:
# {index, holder id, ...} ({} in the common case).
ENQ_LISTS = """
local pend = {h = KEYS[1], n = KEYS[2], l = KEYS[3]}
local scheduled, marker, hash, uprefix = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local now, uttl = tonumber(ARGV[1]), ARGV[2]
local lists = {h = {}, n = {}, l = {}}
local fields, sched, out, pushed, j = {}, {}, {}, 0, 0
for i = 3, #ARGV, 5 do
  j = j + 1
  local id, p, run_at, uniq, value = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4]
  local dup = nil
  if uniq ~= '' then
    if not redis.call('SET', uprefix .. uniq, id, 'NX', 'PX', uttl) then
      local holder = redis.call('GET', uprefix .. uniq)
      if holder and redis.call('HEXISTS', hash, holder) == 1 then dup = holder
      else redis.call('SET', uprefix .. uniq, id, 'PX', uttl) end
    end
  end
  if dup then
    out[#out+1] = j; out[#out+1] = dup
  else
    fields[#fields+1] = id; fields[#fields+1] = value
    if run_at ~= '0' and tonumber(run_at) > now then
      sched[#sched+1] = run_at; sched[#sched+1] = id
    else
      local l = lists[p]; l[#l+1] = HEAD_VALUE; pushed = pushed + 1
    end
  end
end
if #fields > 0 then redis.call('HSET', hash, unpack(fields)) end
for p, l in pairs(lists) do if #l > 0 then redis.call('LPUSH', pend[p], unpack(l)) end end
if #sched > 0 then redis.call('ZADD', scheduled, unpack(sched)) end
if pushed > 0 then
  local stored = redis.call('LLEN', marker)
  local want = math.min(pushed, 8) - stored
  if want > 0 then
    local t = {}
    for k = 1, want do t[k] = '1' end
    redis.call('LPUSH', marker, unpack(t))
  end
end
return out
"""
ENQ_A = ENQ_LISTS.replace("HEAD_VALUE", "id")
ENQ_B = ENQ_LISTS.replace("HEAD_VALUE", "value")

# The result bucket, shared by every ack/cancel/dead path: ARGV now, ttl, bucket ms.
BUCKET = """
local function bucket(prefix, now, ttl, bms)
  local b = math.floor(now / bms)
  return prefix .. b, (b + 1) * bms + ttl
end
"""

DEQ_A = """
local pend = {KEYS[1], KEYS[2], KEYS[3]}
local leases, jobs, tokens, seq = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local deadline = tonumber(ARGV[1]) + tonumber(ARGV[2])
local K = tonumber(ARGV[3])
local ids_out, recs_out, z, t = {}, {}, {}, {}
local token, n = nil, 0
for p = 1, 3 do
  while n < K do
    local want = K - n
    local ids = redis.call('RPOP', pend[p], want)
    if not ids then break end
    local recs = redis.call('HMGET', jobs, unpack(ids))
    if not token then token = redis.call('INCR', seq) end
    for i = 1, #ids do
      local r = recs[i]
      if r then  -- nil: a tombstone (cancelled while pending), dropped
        n = n + 1
        ids_out[n] = ids[i]; recs_out[n] = r
        z[2*n-1] = deadline
        if FENCE_HASH then z[2*n] = ids[i]; t[2*n-1] = ids[i]; t[2*n] = token
        else z[2*n] = ids[i] .. ':' .. token end
      end
    end
    if #ids < want then break end
  end
  if n >= K then break end
end
if n == 0 then return {} end
redis.call('ZADD', leases, unpack(z))
if FENCE_HASH then redis.call('HSET', tokens, unpack(t)) end
return {token, ids_out, recs_out}
"""
DEQ_A1 = DEQ_A.replace("FENCE_HASH", "true")
DEQ_A2 = DEQ_A.replace("FENCE_HASH", "false")

ACK_A1 = BUCKET + """
local leases, tokens, jobs, done = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, ttl, bms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = {}
for i = 4, #ARGV, 3 do ids[#ids+1] = ARGV[i] end
local cur = redis.call('HMGET', tokens, unpack(ids))
local ok, h, refused = {}, {}, {}
for k = 1, #ids do
  local b = 4 + 3*(k-1)
  if cur[k] == ARGV[b+1] then
    ok[#ok+1] = ids[k]; h[#h+1] = ids[k]; h[#h+1] = ARGV[b+2]
  else refused[#refused+1] = k end
end
if #ok > 0 then
  redis.call('HDEL', tokens, unpack(ok))
  redis.call('ZREM', leases, unpack(ok))
  redis.call('HDEL', jobs, unpack(ok))
  local key, at = bucket(done, now, ttl, bms)
  redis.call('HSET', key, unpack(h))
  redis.call('PEXPIREAT', key, at)
end
return refused
"""

# a2 and b: leases hold "<id>:<token>". ARGV now, ttl, bucket ms, id length, then pairs
# member, completed record.
ACK_MEMBER = BUCKET + """
local leases, hash, done = KEYS[1], KEYS[2], KEYS[3]
local now, ttl, bms, L = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local members = {}
for i = 5, #ARGV, 2 do members[#members+1] = ARGV[i] end
local sc = redis.call('ZMSCORE', leases, unpack(members))
local ok, ids, h, refused = {}, {}, {}, {}
for k = 1, #members do
  if sc[k] then
    local id = string.sub(members[k], 1, L)
    ok[#ok+1] = members[k]; ids[#ids+1] = id
    h[#h+1] = id; h[#h+1] = ARGV[4 + 2*k]
  else refused[#refused+1] = k end
end
if #ok > 0 then
  redis.call('ZREM', leases, unpack(ok))
  redis.call('HDEL', hash, unpack(ids))
  local key, at = bucket(done, now, ttl, bms)
  redis.call('HSET', key, unpack(h))
  redis.call('PEXPIREAT', key, at)
end
return refused
"""

DEQ_B = """
local pend = {KEYS[1], KEYS[2], KEYS[3]}
local leases, seq, cancelled = KEYS[4], KEYS[5], KEYS[6]
local deadline = tonumber(ARGV[1]) + tonumber(ARGV[2])
local K, L = tonumber(ARGV[3]), tonumber(ARGV[4])
local check = redis.call('SCARD', cancelled) > 0
local out, z = {}, {}
local token, n = nil, 0
for p = 1, 3 do
  while n < K do
    local want = K - n
    local es = redis.call('RPOP', pend[p], want)
    if not es then break end
    if not token then token = redis.call('INCR', seq) end
    local ids = {}
    for i = 1, #es do ids[i] = string.sub(es[i], 1, L) end
    local dead = nil
    if check then
      dead = redis.call('SMISMEMBER', cancelled, unpack(ids))
      local gone = {}
      for i = 1, #ids do if dead[i] == 1 then gone[#gone+1] = ids[i] end end
      if #gone > 0 then redis.call('SREM', cancelled, unpack(gone)) end
    end
    for i = 1, #es do
      if not dead or dead[i] == 0 then
        n = n + 1
        out[n] = es[i]
        z[2*n-1] = deadline; z[2*n] = ids[i] .. ':' .. token
      end
    end
    if #es < want then break end
  end
  if n >= K then break end
end
if n == 0 then return {} end
redis.call('ZADD', leases, unpack(z))
return {token, out}
"""

# Streams. Enqueue KEYS: stream h, n, l, scheduled, index, unique prefix. ARGV: now, unique
# ttl, then per job: id, priority letter, run_at, unique, record.
ENQ_C = """
local streams = {h = KEYS[1], n = KEYS[2], l = KEYS[3]}
local scheduled, index, uprefix = KEYS[4], KEYS[5], KEYS[6]
local now, uttl = tonumber(ARGV[1]), ARGV[2]
local fields, sched, out, j = {}, {}, {}, 0
for i = 3, #ARGV, 5 do
  j = j + 1
  local id, p, run_at, uniq, rec = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4]
  local dup = nil
  if uniq ~= '' then
    if not redis.call('SET', uprefix .. uniq, id, 'NX', 'PX', uttl) then
      local holder = redis.call('GET', uprefix .. uniq)
      if holder and redis.call('HEXISTS', index, holder) == 1 then dup = holder
      else redis.call('SET', uprefix .. uniq, id, 'PX', uttl) end
    end
  end
  if dup then
    out[#out+1] = j; out[#out+1] = dup
  elseif run_at ~= '0' and tonumber(run_at) > now then
    fields[#fields+1] = id; fields[#fields+1] = 'R' .. rec
    sched[#sched+1] = run_at; sched[#sched+1] = id
  else
    local eid = redis.call('XADD', streams[p], '*', 'j', id, 'r', rec)
    fields[#fields+1] = id; fields[#fields+1] = 'S' .. p .. eid
  end
end
if #fields > 0 then redis.call('HSET', index, unpack(fields)) end
if #sched > 0 then redis.call('ZADD', scheduled, unpack(sched)) end
return out
"""

# Dequeue KEYS: stream h, n, l, reclaimable (count of entries owned by "recovered").
# ARGV: consumer, K. Returns per job: priority letter, entry id, deliveries, job id, record.
DEQ_C = """
local streams = {KEYS[1], KEYS[2], KEYS[3]}
local letters = {'h', 'n', 'l'}
local reclaimable = KEYS[4]
local consumer, K = ARGV[1], tonumber(ARGV[2])
local out, n = {}, 0
local function take(p, entries, deliveries)
  for _, e in ipairs(entries) do
    local f = e[2]
    n = n + 1
    out[#out+1] = letters[p]; out[#out+1] = e[1]; out[#out+1] = deliveries and deliveries[e[1]] or 1
    out[#out+1] = f[2]; out[#out+1] = f[4]
  end
end
if (tonumber(redis.call('GET', reclaimable)) or 0) > 0 then
  for p = 1, 3 do
    local pend = {}
    if n < K then pend = redis.call('XPENDING', streams[p], 'g', '-', '+', K - n, 'recovered') end
    if #pend > 0 then
      local ids, d = {}, {}
      for i, e in ipairs(pend) do ids[i] = e[1]; d[e[1]] = e[4] + 1 end
      local got = redis.call('XCLAIM', streams[p], 'g', consumer, 0, unpack(ids))
      redis.call('DECRBY', reclaimable, #ids)
      take(p, got, d)
    end
  end
end
for p = 1, 3 do
  if n >= K then break end
  local r = redis.call('XREADGROUP', 'GROUP', 'g', consumer, 'COUNT', K - n, 'STREAMS', streams[p], '>')
  if r then take(p, r[1][2], nil) end
end
return out
"""

# Ack KEYS: stream, index, done prefix. ARGV: now, ttl, bucket ms, consumer, then per job
# (entry ids ascending): entry id, deliveries, job id, completed record.
ACK_C = BUCKET + """
local stream, index, done = KEYS[1], KEYS[2], KEYS[3]
local now, ttl, bms, consumer = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local n = (#ARGV - 4) / 4
local pend = redis.call('XPENDING', stream, 'g', ARGV[5], ARGV[5 + 4*(n-1)], 2*n + 16, consumer)
local owned = {}
for _, e in ipairs(pend) do owned[e[1]] = e[4] end
local eids, ids, h, refused = {}, {}, {}, {}
for k = 1, n do
  local b = 5 + 4*(k-1)
  if owned[ARGV[b]] == tonumber(ARGV[b+1]) then
    eids[#eids+1] = ARGV[b]; ids[#ids+1] = ARGV[b+2]
    h[#h+1] = ARGV[b+2]; h[#h+1] = ARGV[b+3]
  else refused[#refused+1] = k end
end
if #eids > 0 then
  redis.call('XACK', stream, 'g', unpack(eids))
  redis.call('XDEL', stream, unpack(eids))
  redis.call('HDEL', index, unpack(ids))
  local key, at = bucket(done, now, ttl, bms)
  redis.call('HSET', key, unpack(h))
  redis.call('PEXPIREAT', key, at)
end
return refused
"""

# ---------------------------------------------------------------------------------------
# Cold paths (prototypes, run for correctness; their cost is reported apart).
# ---------------------------------------------------------------------------------------

HEADER = """
local function header(rec)  -- '<attempts>|<max_retries>|<p>|<body>'
  local a, m, p, body = string.match(rec, '^(%d+)|(%d+)|(%a)|(.*)$')
  return tonumber(a), tonumber(m), p, body
end
"""

# GET by id. a1/a2/b: KEYS hash, leases, retry, tokens (a1) or '' , done prefix; ARGV id,
# now, bucket ms, ttl, fence ('hash' or 'member'). Returns {state, record}.
GET_LISTS = """
local hash, leases, retry, tokens, done = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, now, bms, ttl, fence = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local rec = redis.call('HGET', hash, id)
if rec then
  if redis.call('ZSCORE', retry, id) then return {'retrying', rec} end
  if fence == 'hash' then
    if redis.call('HEXISTS', tokens, id) == 1 then return {'active', rec} end
    return {'pending', rec}
  end
  -- member fencing: the token is not known, so look for '<id>:*' among the leases:
  -- O(jobs in flight)
  local cursor = '0'
  repeat
    local r = redis.call('ZSCAN', leases, cursor, 'MATCH', id .. ':*', 'COUNT', 1000)
    cursor = r[1]
    if #r[2] > 0 then return {'active', rec} end
  until cursor == '0'
  return {'pending', rec}
end
local b = math.floor(now / bms)
for k = b, b - math.ceil(ttl / bms), -1 do
  local v = redis.call('HGET', done .. k, id)
  if v then
    local s = string.sub(v, 1, 1)
    return {({C = 'completed', X = 'cancelled', D = 'dead'})[s] or s, v}
  end
end
return {'notfound', false}
"""

GET_C = """
local index, retry, done = KEYS[1], KEYS[2], KEYS[3]
local id, now, bms, ttl, prefix = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local v = redis.call('HGET', index, id)
if v then
  local kind = string.sub(v, 1, 1)
  if kind == 'R' then return {'retrying', string.sub(v, 2)} end
  local stream, eid = prefix .. string.sub(v, 2, 2), string.sub(v, 3)
  local e = redis.call('XRANGE', stream, eid, eid)
  local p = redis.call('XPENDING', stream, 'g', eid, eid, 1)
  if #p > 0 then return {'active', e[1][2][4]} end
  return {'pending', e[1][2][4]}
end
local b = math.floor(now / bms)
for k = b, b - math.ceil(ttl / bms), -1 do
  local v = redis.call('HGET', done .. k, id)
  if v then
    local s = string.sub(v, 1, 1)
    return {({C = 'completed', X = 'cancelled', D = 'dead'})[s] or s, v}
  end
end
return {'notfound', false}
"""

# Cancel of a pending job. a1/a2: KEYS jobs, leases, tokens, retry, done, cancelled(b);
# ARGV id, now, bucket ms, ttl, model. Returns 'cancelled' / 'active' / 'notfound'.
CANCEL_LISTS = BUCKET + """
local hash, leases, tokens, retry, done, cancelled = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, now, bms, ttl, model = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local rec = redis.call('HGET', hash, id)
if not rec then return 'notfound' end
if model == 'a1' then
  if redis.call('HEXISTS', tokens, id) == 1 then return 'active' end
else
  local r = redis.call('ZSCAN', leases, 0, 'MATCH', id .. ':*', 'COUNT', 100000)
  if #r[2] > 0 then return 'active' end
end
if redis.call('ZREM', retry, id) == 0 and model == 'b' then
  redis.call('SADD', cancelled, id)  -- the entry in its pending list is now a tombstone
end
redis.call('HDEL', hash, id)  -- a: the id left in its list has no record: a tombstone
if model == 'b' then rec = string.sub(rec, #id + 2) end
local key, at = bucket(done, now, ttl, bms)
redis.call('HSET', key, id, 'X|' .. rec)
redis.call('PEXPIREAT', key, at)
return 'cancelled'
"""

CANCEL_C = BUCKET + """
local index, retry, done, prefix = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, now, bms, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local v = redis.call('HGET', index, id)
if not v then return 'notfound' end
local rec
if string.sub(v, 1, 1) == 'R' then
  redis.call('ZREM', retry, id); rec = string.sub(v, 2)
else
  local stream, eid = prefix .. string.sub(v, 2, 2), string.sub(v, 3)
  if #redis.call('XPENDING', stream, 'g', eid, eid, 1) > 0 then return 'active' end
  rec = redis.call('XRANGE', stream, eid, eid)[1][2][4]
  redis.call('XDEL', stream, eid)  -- never delivered: XREADGROUP will not see it
end
redis.call('HDEL', index, id)
local key, at = bucket(done, now, ttl, bms)
redis.call('HSET', key, id, 'X|' .. rec)
redis.call('PEXPIREAT', key, at)
return 'cancelled'
"""

# Fail with retry (one job). a1/a2/b: KEYS leases, hash, tokens, retry; ARGV fence
# (a1: id, token; a2/b: member), id, new record (attempts+1, error; b: the entry), retry at.
FAIL_LISTS = """
local leases, hash, tokens, retry = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local model, id, tok, rec, at = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if model == 'a1' then
  if redis.call('HGET', tokens, id) ~= tok then return 0 end
  redis.call('HDEL', tokens, id)
  redis.call('ZREM', leases, id)
else
  if redis.call('ZREM', leases, id .. ':' .. tok) == 0 then return 0 end
end
redis.call('HSET', hash, id, rec)
redis.call('ZADD', retry, at, id)
return 1
"""

FAIL_C = """
local stream, index, retry = KEYS[1], KEYS[2], KEYS[3]
local consumer, eid, d, id, rec, at = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local p = redis.call('XPENDING', stream, 'g', eid, eid, 1, consumer)
if #p == 0 or p[1][4] ~= d then return 0 end
redis.call('XACK', stream, 'g', eid)
redis.call('XDEL', stream, eid)
redis.call('HSET', index, id, 'R' .. rec)
redis.call('ZADD', retry, at, id)
return 1
"""

# Recovery of expired leases, up to ARGV[3] of them: back to the tail of their pending
# list (taken next), attempts+1 in the record's header; over max_retries: dead.
# KEYS pending h,n,l, leases, hash, tokens, done; ARGV model, now, limit, bucket ms, ttl, L.
RECOVER_LISTS = BUCKET + HEADER + """
local pend = {h = KEYS[1], n = KEYS[2], l = KEYS[3]}
local leases, hash, tokens, done = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local model, now, limit, bms, ttl, L = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local ms = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, limit)
if #ms == 0 then return 0 end
local ids = {}
for i, m in ipairs(ms) do ids[i] = (model == 'a1') and m or string.sub(m, 1, L) end
local recs = redis.call('HMGET', hash, unpack(ids))
local back, h = {h = {}, n = {}, l = {}}, {}
for i, id in ipairs(ids) do
  local v = recs[i]
  if v then
    if model == 'b' then v = string.sub(v, L + 2) end
    local a, m, p, body = header(v)
    a = a + 1
    local nrec = a .. '|' .. m .. '|' .. p .. '|' .. body
    if a > m then
      redis.call('HDEL', hash, id)
      local key, at = bucket(done, now, ttl, bms)
      redis.call('HSET', key, id, 'D|' .. nrec)
      redis.call('PEXPIREAT', key, at)
    else
      if model == 'b' then nrec = id .. '|' .. nrec end
      h[#h+1] = id; h[#h+1] = nrec
      local l = back[p]; l[#l+1] = (model == 'b') and nrec or id
    end
  end
end
redis.call('ZREM', leases, unpack(ms))
if model == 'a1' then redis.call('HDEL', tokens, unpack(ids)) end
if #h > 0 then redis.call('HSET', hash, unpack(h)) end
for p, l in pairs(back) do if #l > 0 then redis.call('RPUSH', pend[p], unpack(l)) end end
return #ms
"""

RECOVER_C = """
local reclaimable, lease_ms, limit = KEYS[4], ARGV[1], ARGV[2]
local total = 0
for s = 1, 3 do
  local r = redis.call('XAUTOCLAIM', KEYS[s], 'g', 'recovered', lease_ms, '0-0', 'COUNT', limit, 'JUSTID')
  total = total + #r[2]
end
if total > 0 then redis.call('INCRBY', reclaimable, total) end
return total
"""


def script_source(name):
    """A script as Bananas embeds it: lease.lua pasted in (src/queue/embed_lua.cmake)."""
    with open(os.path.join(LUA, "lease.lua")) as f:
        lease = f.read()
    with open(os.path.join(LUA, name + ".lua")) as f:
        return f.read().replace("-- #include lease.lua\n", lease)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def now_ms():
    return int(time.time() * 1000)


def job_id(k):
    return "01JF%022d-%s" % (k, QUEUE)


def body(k, now):
    return json.dumps({"name": "noop", "payload": '{"n":%d}' % k, "timeout_ms": 0,
                       "created": now, "run_at": now}, separators=(",", ":"))


def record(k, now, attempts=0):
    return "%d|3|n|%s" % (attempts, body(k, now))


def completed(rec):
    """What a worker sends at ack: the finished record, opaque to Lua."""
    a, m, p, b = rec.split("|", 3)
    return "C|%d|%s|%s|%s|%s" % (int(a) + 1, m, p, b, '{"result":null,"finished":1}')


class Model:
    def __init__(self, r, name):
        self.r, self.name = r, name
        reg = r.register_script
        self.s = {}
        if name == "current":
            self.s = {n: reg(script_source(n)) for n in ("enqueue", "dequeue", "ack")}
        elif name in ("a1", "a2", "b"):
            self.s = {"enq": reg(ENQ_B if name == "b" else ENQ_A),
                      "deq": reg({"a1": DEQ_A1, "a2": DEQ_A2, "b": DEQ_B}[name]),
                      "ack": reg(ACK_A1 if name == "a1" else ACK_MEMBER),
                      "get": reg(GET_LISTS), "cancel": reg(CANCEL_LISTS),
                      "fail": reg(FAIL_LISTS), "recover": reg(RECOVER_LISTS)}
        else:
            self.s = {"enq": reg(ENQ_C), "deq": reg(DEQ_C), "ack": reg(ACK_C), "get": reg(GET_C),
                      "cancel": reg(CANCEL_C), "fail": reg(FAIL_C), "recover": reg(RECOVER_C)}
        self.hash = Q + ("index" if name in ("b", "c") else "jobs")
        self.consumer = "w1"

    def setup(self):
        self.r.flushall()
        if self.name == "c":
            for p in "hnl":
                self.r.xgroup_create(Q + "s:" + p, "g", id="0", mkstream=True)

    # -- enqueue ------------------------------------------------------------------------
    def enqueue(self, ks, now=None):
        now = now or now_ms()
        if self.name == "current":
            keys = [Q + "pending:high", Q + "pending:normal", Q + "pending:low", Q + "scheduled",
                    Q + "marker", Q + "timer", Q + "job:", Q + "unique:", Q + "paused",
                    Q + "leases", Q + "idle", Q + "inbox:"]
            args = [now, len(ks), DAY_MS]
            for k in ks:
                args += [job_id(k), "noop", '{"n":%d}' % k, "normal", 3, 0, 0, "", 0, ""]
            return self.s["enqueue"](keys=keys, args=args)
        args = [now, DAY_MS]
        for k in ks:
            jid, rec = job_id(k), record(k, now)
            args += [jid, "n", 0, "", (jid + "|" + rec) if self.name == "b" else rec]
        if self.name == "c":
            keys = [Q + "s:h", Q + "s:n", Q + "s:l", Q + "scheduled", self.hash, Q + "unique:"]
        else:
            keys = [Q + "pending:h", Q + "pending:n", Q + "pending:l", Q + "scheduled",
                    Q + "marker", self.hash, Q + "unique:"]
        return self.s["enq"](keys=keys, args=args)

    # -- dequeue: list of leased jobs as dicts (id, fence, rec) -----------------------------
    def dequeue(self, K, now=None, lease_ms=LEASE_MS):
        now = now or now_ms()
        if self.name == "current":
            res = self.s["dequeue"](
                keys=[Q + "paused", Q + "pending:high", Q + "pending:normal", Q + "pending:low",
                      Q + "leases", Q + "job:", Q + "idle", Q + "inbox:", Q + "stale", Q + "scan"],
                args=[now, lease_ms, K, 200, "hnl", "", "0", 3000, 0])  # tentative, as the worker asks
            return [{"id": j[0], "token": j[1], "attempts": j[2]} for j in res if isinstance(j, list)]
        if self.name in ("a1", "a2"):
            res = self.s["deq"](keys=[Q + "pending:h", Q + "pending:n", Q + "pending:l",
                                      Q + "leases", self.hash, Q + "tokens", Q + "seq"],
                                args=[now, lease_ms, K])
            if not res:
                return []
            token, ids, recs = res
            return [{"id": i, "token": token, "rec": r.decode(),
                     "member": i + b":" + str(token).encode()} for i, r in zip(ids, recs)]
        if self.name == "b":
            res = self.s["deq"](keys=[Q + "pending:h", Q + "pending:n", Q + "pending:l",
                                      Q + "leases", Q + "seq", Q + "cancelled"],
                                args=[now, lease_ms, K, IDLEN])
            if not res:
                return []
            token, entries = res
            return [{"id": e[:IDLEN], "token": token, "rec": e[IDLEN + 1:].decode(),
                     "member": e[:IDLEN] + b":" + str(token).encode()} for e in entries]
        res = self.s["deq"](keys=[Q + "s:h", Q + "s:n", Q + "s:l", Q + "reclaimable"],
                            args=[self.consumer, K])
        return [{"p": res[i].decode(), "eid": res[i + 1], "deliveries": res[i + 2], "id": res[i + 3],
                 "rec": res[i + 4].decode()} for i in range(0, len(res), 5)]

    def ack(self, jobs, now=None, consumer=None):
        now = now or now_ms()
        if not jobs:
            return []
        if self.name == "current":
            keys, args = [Q + "leases"], [now, DAY_MS]
            for j in jobs:
                keys.append(Q + "job:" + j["id"].decode())
                args += [j["id"], j["token"], ""]
            out = self.s["ack"](keys=keys, args=args)
            return [i + 1 for i, v in enumerate(out) if v == 0]
        if self.name == "a1":
            args = [now, DAY_MS, BUCKET_MS]
            for j in jobs:
                args += [j["id"], j["token"], completed(j["rec"])]
            return self.s["ack"](keys=[Q + "leases", Q + "tokens", self.hash, Q + "done:"], args=args)
        if self.name in ("a2", "b"):
            args = [now, DAY_MS, BUCKET_MS, IDLEN]
            for j in jobs:
                args += [j["member"], completed(j["rec"])]
            return self.s["ack"](keys=[Q + "leases", self.hash, Q + "done:"], args=args)
        refused = []
        for p in "hnl":
            js = [j for j in jobs if j["p"] == p]
            if not js:
                continue
            args = [now, DAY_MS, BUCKET_MS, consumer or self.consumer]
            for j in js:
                args += [j["eid"], j["deliveries"], j["id"], completed(j["rec"])]
            refused += self.s["ack"](keys=[Q + "s:" + p, self.hash, Q + "done:"], args=args)
        return refused

    # -- cold paths -----------------------------------------------------------------------
    def get(self, jid, now=None):
        now = now or now_ms()
        if self.name == "c":
            st, rec = self.s["get"](keys=[self.hash, Q + "retry", Q + "done:"],
                                    args=[jid, now, BUCKET_MS, DAY_MS, Q + "s:"])
        else:
            st, rec = self.s["get"](keys=[self.hash, Q + "leases", Q + "retry", Q + "tokens",
                                          Q + "done:"],
                                    args=[jid, now, BUCKET_MS, DAY_MS,
                                          "hash" if self.name == "a1" else "member"])
        return st.decode()

    def cancel(self, jid, now=None):
        now = now or now_ms()
        if self.name == "c":
            return self.s["cancel"](keys=[self.hash, Q + "retry", Q + "done:", Q + "s:"],
                                    args=[jid, now, BUCKET_MS, DAY_MS]).decode()
        return self.s["cancel"](keys=[self.hash, Q + "leases", Q + "tokens", Q + "retry",
                                      Q + "done:", Q + "cancelled"],
                                args=[jid, now, BUCKET_MS, DAY_MS, self.name]).decode()

    def fail(self, j, now=None):
        """Fail with retry: the worker rewrites the record (attempts+1, error)."""
        now = now or now_ms()
        a, m, p, b = j["rec"].split("|", 3)
        rec = "%d|%s|%s|%s" % (int(a) + 1, m, p, b[:-1] + ',"error":"boom"}')
        jid = j["id"].decode()
        if self.name == "c":
            return self.s["fail"](keys=[Q + "s:" + j["p"], self.hash, Q + "retry"],
                                  args=[self.consumer, j["eid"], j["deliveries"], jid, rec, now + 1000])
        return self.s["fail"](keys=[Q + "leases", self.hash, Q + "tokens", Q + "retry"],
                              args=[self.name, jid, j["token"],
                                    (jid + "|" + rec) if self.name == "b" else rec, now + 1000])

    def recover(self, now, limit=100):
        if self.name == "c":
            return self.s["recover"](keys=[Q + "s:h", Q + "s:n", Q + "s:l", Q + "reclaimable"],
                                     args=[LEASE_MS, limit])
        return self.s["recover"](keys=[Q + "pending:h", Q + "pending:n", Q + "pending:l",
                                       Q + "leases", self.hash, Q + "tokens", Q + "done:"],
                                 args=[self.name, now, limit, BUCKET_MS, DAY_MS, IDLEN])


# ---------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------

def snap(r):
    c = r.info("cpu")
    s = r.info("stats")
    return (c["used_cpu_user"] + c["used_cpu_sys"], s["total_net_input_bytes"],
            s["total_net_output_bytes"])


def measure(r, fn):
    """Runs fn() -> jobs done; returns cost per job."""
    r.config_resetstat()
    s0 = snap(r)
    t0 = time.time()
    n = fn()
    t1 = time.time()
    s1 = snap(r)
    stats = r.info("commandstats")
    skip = lambda k: "config" in k or k in ("cmdstat_info",)
    evalsha = sum(v["usec"] for k, v in stats.items() if k.startswith("cmdstat_evalsha"))
    calls = sum(v["calls"] for k, v in stats.items() if not skip(k))
    by = {k[8:]: v["calls"] / n for k, v in stats.items() if not skip(k)}
    return {"cpu": (s1[0] - s0[0]) * 1e6 / n, "evalsha": evalsha / n, "calls": calls / n,
            "bytes_in": (s1[1] - s0[1]) / n, "bytes_out": (s1[2] - s0[2]) / n,
            "rate": n / (t1 - t0), "by": by}


def bulk(m, n=N):
    for start in range(0, n, CHUNK):
        m.enqueue(range(start, min(start + CHUNK, n)))
    return n


def single(m, n=N):
    for k in range(n):
        m.enqueue([k])
    return n


def drain(m, K):
    done = 0
    while True:
        jobs = m.dequeue(K)
        if not jobs:
            return done
        refused = m.ack(jobs)
        assert not refused, (m.name, refused)
        done += len(jobs)


def memory(r, m):
    m.setup()
    base = r.info("memory")["used_memory"]
    bulk(m)
    used = r.info("memory")["used_memory"] - base
    keys = list(r.scan_iter(count=10000))
    p = r.pipeline(transaction=False)
    for k in keys:
        p.memory_usage(k, samples=0)
    usage = sum(x or 0 for x in p.execute())
    big = sorted(((r.memory_usage(k, samples=0) or 0, k.decode()) for k in keys
                  if not k.startswith((Q + "job:").encode())), reverse=True)[:4]
    return used / N, usage / N, len(keys), big


def check_and_cold(r, m):
    """The correctness scenario, then the cost per job of each cold path."""
    out = {}
    m.setup()
    now = now_ms()
    m.enqueue(range(6), now)
    ids = [job_id(k) for k in range(6)]
    assert m.get(ids[0]) == "pending", m.get(ids[0])
    assert m.cancel(ids[0]) == "cancelled"
    assert m.get(ids[0]) == "cancelled", m.get(ids[0])
    jobs = m.dequeue(3, now)
    got = [j["id"].decode() for j in jobs]
    assert got == ids[1:4], got  # the tombstone of job 0 skipped
    assert m.get(ids[1]) == "active", m.get(ids[1])
    assert m.ack([jobs[0]]) == []
    assert m.get(ids[1]) == "completed", m.get(ids[1])
    assert m.fail(jobs[1]) == 1
    assert m.get(ids[2]) == "retrying", m.get(ids[2])
    # job 3's lease expires; the recovery hands it back
    if m.name == "c":
        time.sleep(0.05)
        n = m.s["recover"](keys=[Q + "s:h", Q + "s:n", Q + "s:l", Q + "reclaimable"], args=[10, 100])
    else:
        n = m.recover(now + LEASE_MS + 1)
    assert n == 1, n
    if m.name != "c":
        assert m.get(ids[3]) == "pending", m.get(ids[3])
    assert m.ack([jobs[2]]) == [1], "a stale ack must be refused"
    again = m.dequeue(10, now)
    got = [j["id"].decode() for j in again]
    assert got == [ids[3], ids[4], ids[5]], got
    if m.name == "c":
        assert again[0]["deliveries"] == 2, again[0]
    else:
        assert again[0]["rec"].startswith("1|"), again[0]["rec"]  # attempts charged
    assert m.ack(again) == []
    assert m.get(ids[3]) == "completed"

    # cold-path costs over COLD jobs each
    M = COLD
    m.setup()
    now = now_ms()
    for s in range(0, 3 * M, CHUNK):
        m.enqueue(range(s, min(s + CHUNK, 3 * M)), now)
    out["get pending"] = measure(r, lambda: [m.get(job_id(k)) for k in range(M)] and M)["cpu"]
    out["cancel"] = measure(r, lambda: [m.cancel(job_id(k)) for k in range(M)] and M)["cpu"]
    leased = []
    while len(leased) < M:
        leased += m.dequeue(min(64, M - len(leased)), now)   # the M cancelled dropped here
    out["get active"] = measure(r, lambda: [m.get(j["id"].decode()) for j in leased] and M)["cpu"]
    half = leased[: M // 2]
    out["fail+retry"] = measure(r, lambda: [m.fail(j) for j in half] and len(half))["cpu"]
    out["get retrying"] = measure(r, lambda: [m.get(j["id"].decode()) for j in half] and len(half))["cpu"]
    rest = leased[M // 2:]
    if m.name == "c":
        time.sleep(0.05)
        out["recover"] = measure(r, lambda: sum(
            m.s["recover"](keys=[Q + "s:h", Q + "s:n", Q + "s:l", Q + "reclaimable"], args=[10, 100])
            for _ in range(len(rest) // 100 + 1)))["cpu"]
    else:
        out["recover"] = measure(r, lambda: sum(m.recover(now + LEASE_MS + 1)
                                                for _ in range(len(rest) // 100 + 1)))["cpu"]
    more = []
    while True:
        js = m.dequeue(64)
        if not js:
            break
        more += js
    m.ack(more)
    out["get completed"] = measure(r, lambda: [m.get(j["id"].decode()) for j in more] and len(more))["cpu"]
    return out


# Per-element Lua work, measured apart (LUA_PROBE=1): each script gets K=64 ids.
PROBES = [
    ("call only: return 1", "return 1"),
    ("loop: copy ARGV into a table", "local t = {} for i = 1, #ARGV do t[i] = ARGV[i] end return 1"),
    ("loop: id .. ':' .. token per element",
     "local t = {} for i = 1, #ARGV do t[i] = ARGV[i] .. ':' .. 12345 end return 1"),
    ("loop: string.sub per element",
     "local t = {} for i = 1, #ARGV do t[i] = string.sub(ARGV[i], 1, 26) end return 1"),
    ("one HMGET of K fields", "redis.call('HMGET', KEYS[1], unpack(ARGV)) return 1"),
    ("one HMGET of K fields, reply returned", "return redis.call('HMGET', KEYS[1], unpack(ARGV))"),
    ("K x HGET (one redis.call per element)",
     "for i = 1, #ARGV do redis.call('HGET', KEYS[1], ARGV[i]) end return 1"),
    ("K x HSET (one redis.call per element)",
     "for i = 1, #ARGV do redis.call('HSET', KEYS[2], ARGV[i], 'x') end return 1"),
    ("K x (HMGET 11 + HSET 6 fields) of job hashes",
     "for i = 1, #ARGV do local k = KEYS[3] .. ARGV[i] "
     "redis.call('HMGET', k, 'name', 'payload', 'attempts', 'max_retries', 'timeout_ms', 'created',"
     " 'recoveries', 'token', 'run_at', 'state', 'lost') "
     "redis.call('HSET', k, 'state', 'active', 'attempts', 1, 'token', 2, 'started', 3, 'updated', 4,"
     " 'unstarted', 2) end return 1"),
    ("K x (HSET 4 fields + PEXPIRE + DEL) new job hash",
     "for i = 1, #ARGV do local k = KEYS[2] .. ARGV[i] "
     "redis.call('HSET', k, 'state', 'completed', 'result', '', 'finished', 1, 'updated', 1) "
     "redis.call('PEXPIRE', k, 86400000) redis.call('DEL', k) end return 1"),
]


def lua_probe(r, K=64, calls=3000):
    r.flushall()
    ids = [job_id(k) for k in range(K)]
    r.hset(Q + "jobs", mapping={i: record(k, 0) for k, i in enumerate(ids)})
    for k, i in enumerate(ids):
        r.hset(Q + "job:" + i, mapping={"name": "noop", "payload": '{"n":%d}' % k, "priority": "normal",
                                        "state": "pending", "max_retries": 3, "attempts": 0,
                                        "token": 0, "created": 1, "updated": 1, "run_at": 1})
    print("\nPer-element Lua work (K=%d ids per call, %d calls; Redis CPU us per element, "
          "per-call cost subtracted):" % (K, calls))
    base = None
    for label, src in PROBES:
        sc = r.register_script(src)
        sc(keys=[Q + "jobs", Q + "x", Q + "job:"], args=ids)
        p = r.pipeline(transaction=False)
        def run():
            for _ in range(calls // 100):
                for _ in range(100):
                    sc(keys=[Q + "jobs", Q + "x", Q + "job:"], args=ids, client=p)
                p.execute()
            return calls
        us = measure(r, run)["cpu"]
        if base is None:
            base = us
            print("  %-45s %6.2f us per call (%d args)" % (label, us, K))
        else:
            print("  %-45s %6.3f us per element" % (label, (us - base) / K))


def main():
    work = tempfile.mkdtemp(prefix="bananas-model-")
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly",
                               "no", "--dir", work], stdout=subprocess.DEVNULL)
    try:
        r = redis.Redis(port=port)
        for _ in range(100):
            try:
                r.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        models = {name: Model(r, name) for name in MODELS}
        print("N=%d BATCH=%s ROUNDS=%d, redis-server %s, load %s" % (
            N, ",".join(map(str, BATCHES)), ROUNDS, r.info("server")["redis_version"],
            os.getloadavg()), flush=True)
        cold = {}
        for name, m in models.items():
            if name != "current":
                cold[name] = check_and_cold(r, m)
                print("%-7s correctness scenario passed; cold paths (Redis CPU us per job): %s" % (
                    name, ", ".join("%s %.1f" % kv for kv in cold[name].items())), flush=True)
        res = {name: {} for name in models}
        mem = {}
        for rnd in range(ROUNDS):
            for name, m in models.items():
                row = res[name]
                mem[name] = memory(r, m)
                m.setup()
                row.setdefault("enq", []).append(measure(r, lambda: bulk(m)))
                for K in BATCHES:
                    if K != BATCHES[0]:
                        m.setup()
                        bulk(m)
                    row.setdefault(K, []).append(measure(r, lambda: drain(m, K)))
                m.setup()
                row.setdefault("single", []).append(measure(r, lambda: single(m)))
                print("round %d %-7s enq bulk %5.1f  single %5.1f  %s  (us Redis CPU/job; load %.2f)" % (
                    rnd + 1, name, row["enq"][-1]["cpu"], row["single"][-1]["cpu"],
                    "  ".join("drain K=%d %5.1f" % (K, row[K][-1]["cpu"]) for K in BATCHES),
                    os.getloadavg()[0]), flush=True)
        med = lambda xs, f: statistics.median(x[f] for x in xs)
        print("\nMedians of %d rounds, N=%d. Redis CPU us/job (INFO cpu); [in EVALSHA]; calls/job "
              "incl. commands inside scripts; bytes/job in+out; memory per pending job." % (ROUNDS, N))
        hdr = "| model | enq bulk | enq single | " + " | ".join("drain K=%d" % K for K in BATCHES) + \
              " | calls/job enq bulk / single / drain K=%d | bytes/job enq bulk / single / drain K=%d" \
              " | memory/pending job (used_memory / MEMORY USAGE) |" % (BATCHES[0], BATCHES[0])
        print(hdr)
        print("|" + "---|" * (hdr.count("|") - 1))
        for name, row in res.items():
            e, s, d = row["enq"], row["single"], row[BATCHES[0]]
            print("| %s | %.1f [%.1f] | %.1f [%.1f] | %s | %.3f / %.2f / %.3f | %.0f / %.0f / %.0f | %.0f B / %.0f B |" % (
                name, med(e, "cpu"), med(e, "evalsha"), med(s, "cpu"), med(s, "evalsha"),
                " | ".join("%.1f [%.1f]" % (med(row[K], "cpu"), med(row[K], "evalsha")) for K in BATCHES),
                med(e, "calls"), med(s, "calls"), med(d, "calls"),
                med(e, "bytes_in") + med(e, "bytes_out"), med(s, "bytes_in") + med(s, "bytes_out"),
                med(d, "bytes_in") + med(d, "bytes_out"), mem[name][0], mem[name][1]))
        print("\nCommands per job, last round (drain K=%d):" % BATCHES[0])
        for name, row in res.items():
            by = row[BATCHES[0]][-1]["by"]
            print("  %-7s %s" % (name, ", ".join("%s %.3f" % (k, v) for k, v in
                                                  sorted(by.items(), key=lambda kv: -kv[1]))))
        print("\nLargest keys with N pending (MEMORY USAGE, bytes):")
        for name in res:
            print("  %-7s %d keys; %s" % (name, mem[name][2], ", ".join(
                "%s %d" % (k.replace(Q, ""), v) for v, k in mem[name][3])))
        if os.environ.get("LUA_PROBE"):
            lua_probe(r)
        if cold:
            print("\nCold paths, Redis CPU us per job (one call per job; recover: 100 per call):")
            for name, c in cold.items():
                print("  %-7s %s" % (name, ", ".join("%s %.1f" % kv for kv in c.items())))
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
