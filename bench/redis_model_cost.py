#!/usr/bin/python3
"""Redis CPU per job of three data models for the hot path (lease + complete), measured on a
scratch redis-server this script starts itself. It answers one question: how far can a change
of the data model take Redis CPU per job towards SPEC 11's ~12 us budget?

  current  the scripts Bananas runs: src/queue/lua/dequeue.lua and ack.lua (one hash per job:
           per job an HMGET and an HSET when leased, an HMGET, an HSET and a PEXPIRE when
           completed; the lease set written once per batch)
  lean     the fencing token in a per-queue hash instead of the job hash: per job one HMGET
           when leased, one HSET and one PEXPIRE when completed
  batched  every Redis call handles the whole batch: job records as fields of one per-queue
           hash, completed records into one per-queue hash, no per-job key at all

Each model drains N no-op jobs from a backlog (enqueue not counted), leasing BATCH jobs per
call and completing them in one call, from one synchronous client. Reported: Redis CPU per
job (INFO cpu), time inside EVALSHA and inside the commands the scripts ran (INFO
commandstats), per job. The models other than `current` are prototypes of the scripts only:
no retries, cancellation or queries were built for them.

    bench/redis_model_cost.py                 # N=20000 BATCH=32 ROUNDS=2
    N=50000 BATCH=256 bench/redis_model_cost.py
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import redis

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "..", "src", "queue", "lua")
N = int(os.environ.get("N", "20000"))
BATCH = int(os.environ.get("BATCH", "32"))
ROUNDS = int(os.environ.get("ROUNDS", "2"))
Q = "bananas:{default}:"
DAY_MS = 86_400_000

LEAN_DEQ = """
local pending, leases, job_prefix, tokens, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now = tonumber(ARGV[1]); local deadline = now + tonumber(ARGV[2]); local n = tonumber(ARGV[3])
local ids = redis.call('RPOP', pending, n)
if not ids then return {} end
local base = redis.call('INCRBY', seq, #ids) - #ids
local out, leased, toks = {base}, {}, {}
for i, id in ipairs(ids) do
  local f = redis.call('HMGET', job_prefix .. id, 'name', 'payload', 'attempts', 'max_retries',
                       'timeout_ms', 'created', 'recoveries', 'run_at')
  out[#out+1] = id
  out[#out+1] = f
  leased[#leased+1] = deadline; leased[#leased+1] = id
  toks[#toks+1] = id; toks[#toks+1] = base + i
end
redis.call('ZADD', leases, unpack(leased))
redis.call('HSET', tokens, unpack(toks))
return out
"""

LEAN_ACK = """
local leases, tokens, job_prefix, watched = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = tonumber(ARGV[1]); local ttl = tonumber(ARGV[2])
local n = (#ARGV - 2) / 4
local ids = {}
for i = 1, n do ids[i] = ARGV[3 + 4*(i-1)] end
local cur = redis.call('HMGET', tokens, unpack(ids))
local out, done = {}, {}
for i = 1, n do
  local b = 3 + 4*(i-1)
  if cur[i] == ARGV[b+1] then
    local job = job_prefix .. ids[i]
    redis.call('HSET', job, 'state', 'completed', 'result', ARGV[b+3], 'attempts', ARGV[b+2], 'finished', now)
    if ttl > 0 then redis.call('PEXPIRE', job, ttl) end
    done[#done+1] = ids[i]
    out[i] = 1
  else out[i] = 0 end
end
if #done > 0 then
  redis.call('HDEL', tokens, unpack(done))
  redis.call('ZREM', leases, unpack(done))
end
return out
"""

BATCH_DEQ = """
local pending, leases, jobs, tokens, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now = tonumber(ARGV[1]); local deadline = now + tonumber(ARGV[2]); local n = tonumber(ARGV[3])
local ids = redis.call('RPOP', pending, n)
if not ids then return {} end
local base = redis.call('INCRBY', seq, #ids) - #ids
local recs = redis.call('HMGET', jobs, unpack(ids))
local leased, toks = {}, {}
for i, id in ipairs(ids) do
  leased[#leased+1] = deadline; leased[#leased+1] = id
  toks[#toks+1] = id; toks[#toks+1] = base + i
end
redis.call('ZADD', leases, unpack(leased))
redis.call('HSET', tokens, unpack(toks))
return {base, ids, recs}
"""

BATCH_ACK = """
local leases, tokens, jobs, done_bucket = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = tonumber(ARGV[1]); local ttl = tonumber(ARGV[2])
local n = (#ARGV - 2) / 3
local ids = {}
for i = 1, n do ids[i] = ARGV[3 + 3*(i-1)] end
local cur = redis.call('HMGET', tokens, unpack(ids))
local out, done, recs = {}, {}, {}
for i = 1, n do
  local b = 3 + 3*(i-1)
  if cur[i] == ARGV[b+1] then
    done[#done+1] = ids[i]
    recs[#recs+1] = ids[i]; recs[#recs+1] = ARGV[b+2]
    out[i] = 1
  else out[i] = 0 end
end
if #done > 0 then
  redis.call('HSET', done_bucket, unpack(recs))
  redis.call('HDEL', jobs, unpack(done))
  redis.call('HDEL', tokens, unpack(done))
  redis.call('ZREM', leases, unpack(done))
end
return out
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


def cpu(r):
    info = r.info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]


def fill_hashes(r, enqueue):
    """The backlog as Bananas stores it: enqueue.lua, 1,000 jobs per call."""
    now = int(time.time() * 1000)
    keys = [Q + "pending:high", Q + "pending:normal", Q + "pending:low", Q + "scheduled",
            Q + "marker", Q + "timer", Q + "job:", Q + "unique:", Q + "paused", Q + "leases",
            Q + "idle", Q + "inbox:"]
    for start in range(0, N, 1000):
        args = [now, min(1000, N - start), DAY_MS]
        for k in range(start, min(start + 1000, N)):
            args += ["j%d" % k, "noop", '{"n":%d}' % k, "normal", 3, 0, 0, "", 0, ""]
        enqueue(keys=keys, args=args)


def fill_records(r):
    """The backlog of the batched model: one field per job in a per-queue hash."""
    for start in range(0, N, 1000):
        records = {"j%d" % k: '{"name":"noop","payload":{"n":%d},"attempts":0,"max_retries":3}' % k
                   for k in range(start, min(start + 1000, N))}
        p = r.pipeline(transaction=False)
        p.hset(Q + "jobs", mapping=records)
        p.lpush(Q + "pending:normal", *records.keys())
        p.execute()


def drain(r, model, s):
    n = 0
    while True:
        now = int(time.time() * 1000)
        if model == "current":
            jobs = s["dequeue"](keys=[Q + "paused", Q + "pending:high", Q + "pending:normal",
                                      Q + "pending:low", Q + "leases", Q + "job:", Q + "idle",
                                      Q + "inbox:"],
                                args=[now, 30000, BATCH, 200, "hnl", "", "0", 3000])
            if not jobs:
                return n
            keys, args = [Q + "leases"], [now, DAY_MS]
            for j in jobs:
                keys.append(Q + "job:" + j[0].decode())
                args += [j[0], j[1], ""]
            s["ack"](keys=keys, args=args)
            n += len(jobs)
        elif model == "lean":
            res = s["lean_deq"](keys=[Q + "pending:normal", Q + "leases", Q + "job:", Q + "tokens",
                                      Q + "seq"], args=[now, 30000, BATCH])
            if not res:
                return n
            base, args = res[0], [now, DAY_MS]
            for i in range(1, len(res), 2):
                fields = res[i + 1]
                args += [res[i], base + (i + 1) // 2, int(fields[2] or 0) + 1, ""]
            s["lean_ack"](keys=[Q + "leases", Q + "tokens", Q + "job:", Q + "watched"], args=args)
            n += (len(res) - 1) // 2
        else:
            res = s["batch_deq"](keys=[Q + "pending:normal", Q + "leases", Q + "jobs", Q + "tokens",
                                       Q + "seq"], args=[now, 30000, BATCH])
            if not res:
                return n
            base, ids, _records = res
            args = [now, DAY_MS]
            for i, job_id in enumerate(ids):
                args += [job_id, base + i + 1, '{"state":"completed","result":""}']
            s["batch_ack"](keys=[Q + "leases", Q + "tokens", Q + "jobs", Q + "done:0"], args=args)
            n += len(ids)


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
        s = {name: r.register_script(script_source(name)) for name in ("enqueue", "dequeue", "ack")}
        s.update({"lean_deq": r.register_script(LEAN_DEQ), "lean_ack": r.register_script(LEAN_ACK),
                  "batch_deq": r.register_script(BATCH_DEQ),
                  "batch_ack": r.register_script(BATCH_ACK)})
        print("N=%d BATCH=%d, redis-server %s" % (N, BATCH, r.info("server")["redis_version"]))
        for rnd in range(ROUNDS):
            for model in ("current", "lean", "batched"):
                r.flushall()
                fill_records(r) if model == "batched" else fill_hashes(r, s["enqueue"])
                r.config_resetstat()
                c0, t0 = cpu(r), time.time()
                n = drain(r, model, s)
                c1, t1 = cpu(r), time.time()
                stats = r.info("commandstats")
                in_scripts = sum(v["usec"] for k, v in stats.items() if k.startswith("cmdstat_evalsha"))
                commands = sum(v["usec"] for k, v in stats.items()
                               if not k.startswith("cmdstat_eval") and "config" not in k
                               and k != "cmdstat_info")
                calls = sum(v["calls"] for k, v in stats.items()
                            if "config" not in k and k != "cmdstat_info")
                print("round %d %-8s %6.1f us Redis CPU/job  (evalsha %5.1f, commands %5.1f us/job; "
                      "%.2f calls/job; %6.0f jobs/s from one client)" % (
                          rnd + 1, model, (c1 - c0) * 1e6 / n, in_scripts / n, commands / n,
                          calls / n, n / (t1 - t0)), flush=True)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
